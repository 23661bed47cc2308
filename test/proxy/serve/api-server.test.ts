import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import sinon from 'sinon';
import type { ControlApi } from '../../../proxy/serve/api-server.js';
import { ApiError, type ConnectionView } from '../../../proxy/serve/control.js';
import { call, json, startTestApi, type Reply } from '../../helpers/control-api.js';
import { FakeControlTarget } from '../../helpers/fake-control-target.js';
import { until } from '../../helpers/sockets.js';

// What toxiproxy's apiError sends (Go's http.Error replaces its JSON content type).
const ERROR_TYPE = 'text/plain; charset=utf-8';
const SETTINGS = { window: '64KiB', 'max-conns': 0, overflow: 'block' };

function expectError(reply: Reply, status: number, message: string): void {
  expect(reply.status, reply.body).to.equal(status);
  expect(reply.headers['content-type']).to.equal(ERROR_TYPE);
  expect(reply.headers['x-content-type-options']).to.equal('nosniff');
  expect(reply.body).to.equal(`${JSON.stringify({ error: message, status })}\n`);
}

function connection(id: number): ConnectionView {
  return { id, client: `127.0.0.1:${40000 + id}`, target: '127.0.0.1:6379', phase: 'relaying', ageMs: 10, bytesUp: 1, bytesDown: 2 };
}

describe('control API over HTTP (toxiproxy 2.x api.go, against an in-memory fleet)', () => {
  let fleet: FakeControlTarget;
  let api: ControlApi;
  let port: number;
  const notices: string[] = [];
  let clock: sinon.SinonFakeTimers | undefined;

  beforeEach(async () => {
    fleet = new FakeControlTarget();
    notices.length = 0;
    ({ api, port } = await startTestApi(fleet, { onNotice: (t) => notices.push(t), maxBodyBytes: 1024 }));
  });
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await api.close();
  });

  const create = (body: Record<string, unknown>) => call(port, 'POST', '/proxies', json(body));

  describe('server', () => {
    it('GET /version: 200, {"version": "2.12.0"} and a newline, application/json;charset=utf-8 (api.go Version)', async () => {
      const reply = await call(port, 'GET', '/version');
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/json;charset=utf-8');
      expect(reply.body).to.equal('{"version": "2.12.0"}\n');
    });

    it('every answer carries its own X-Toxiproxy-Request-Id (20 characters of xid), errors, 403, 404, 405 and 301 included', async () => {
      const replies = await Promise.all([
        call(port, 'GET', '/version'),
        call(port, 'GET', '/proxies'),
        call(port, 'GET', '/proxies/nope'),
        call(port, 'POST', '/proxies', { body: '{' }),
        call(port, 'GET', '/nowhere'),
        call(port, 'PUT', '/proxies'),
        call(port, 'GET', '//proxies'),
        call(port, 'GET', '/proxies', { headers: { 'user-agent': 'Mozilla/5.0' } }),
        call(port, 'POST', '/reset'),
      ]);
      const ids = replies.map((r) => r.headers['x-toxiproxy-request-id']);
      for (const id of ids) expect(id).to.match(/^[0-9a-v]{20}$/);
      expect(new Set(ids).size).to.equal(replies.length);
    });

    it('a User-Agent starting with Mozilla/ gets 403 "User agent not allowed" on any path, and the fleet is never asked', async () => {
      const browser = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
      for (const [method, path] of [['GET', '/proxies'], ['POST', '/proxies'], ['POST', '/reset'], ['GET', '/nowhere']] as const) {
        const reply = await call(port, method, path, { ...json({ name: 'x', upstream: 'y' }), headers: { 'user-agent': browser } });
        expect(reply.status, `${method} ${path}`).to.equal(403);
        expect(reply.headers['content-type']).to.equal(ERROR_TYPE);
        expect(reply.body).to.equal('User agent not allowed\n');
      }
      expect(fleet.calls).to.deep.equal([]);
      // api_test.go TestNonBrowserGets200: other agents (and none at all) are served.
      expect((await call(port, 'GET', '/proxies', { headers: { 'user-agent': 'Wget/2.1' } })).status).to.equal(200);
      expect((await call(port, 'GET', '/proxies', { headers: { 'user-agent': 'curl/8.5.0 Mozilla/' } })).status).to.equal(200);
    });

    it('an unknown path is 404 "404 page not found" (Go\'s NotFoundHandler); a known path with the wrong method is 405, empty, with Allow', async () => {
      const missing = await call(port, 'GET', '/proxies/a/b');
      expect(missing.status).to.equal(404);
      expect(missing.headers['content-type']).to.equal(ERROR_TYPE);
      expect(missing.body).to.equal('404 page not found\n');
      expect((await call(port, 'GET', '/proxies/')).status).to.equal(404);

      const wrong = await call(port, 'DELETE', '/proxies');
      expect(wrong.status).to.equal(405);
      expect(wrong.body).to.equal('');
      expect(wrong.headers.allow).to.equal('GET, POST');
      expect((await call(port, 'HEAD', '/version')).status).to.equal(405);
      expect((await call(port, 'GET', '/reset')).headers.allow).to.equal('POST');
      expect(fleet.calls).to.deep.equal([]);
    });

    it('an unclean path gets 301 to the clean one, query kept (mux cleanPath)', async () => {
      const reply = await call(port, 'GET', '/proxies//redis/./connections?limit=2');
      expect(reply.status).to.equal(301);
      expect(reply.headers.location).to.equal('/proxies/redis/connections?limit=2');
      expect((await call(port, 'GET', '//version')).headers.location).to.equal('/version');
    });

    it('a path part that does not percent-decode is 400, not a crash', async () => {
      expectError(await call(port, 'GET', '/proxies/%zz'), 400, 'bad request path: invalid URL escape in "%zz"');
      expect((await call(port, 'GET', '/version')).status).to.equal(200);
    });

    it('path parts are percent-decoded: a proxy named "my proxy/1" is /proxies/my%20proxy%2F1', async () => {
      expect((await create({ name: 'my proxy/1', upstream: '127.0.0.1:6379' })).status).to.equal(201);
      const reply = await call(port, 'GET', '/proxies/my%20proxy%2F1');
      expect(reply.status).to.equal(200);
      expect((reply.json as { name: string }).name).to.equal('my proxy/1');
      expect((await call(port, 'DELETE', '/proxies/my%20proxy%2F1')).status).to.equal(204);
    });

    it('a body past maxBodyBytes is 413 and the connection is closed; one at the limit is read', async () => {
      const atLimit = JSON.stringify({ name: 'a', upstream: 'b', pad: 'x'.repeat(1024 - 40) }).padEnd(1024, ' ');
      expect(Buffer.byteLength(atLimit)).to.equal(1024);
      expect((await call(port, 'POST', '/proxies', { body: atLimit })).status).to.equal(201);

      const over = await call(port, 'POST', '/proxies', { body: `${atLimit} ` });
      expectError(over, 413, 'request body larger than 1024 bytes');
      expect(over.headers.connection).to.equal('close');
      expect(fleet.calls.length).to.equal(1);
    });

    it('a body past the limit sent without Content-Length (chunked) is refused as it arrives', async () => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1').on('data', (d: string) => (text += d));
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.write('POST /populate HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 3; i++) socket.write(`200\r\n${'['.repeat(0x200)}\r\n`);
      await closed;
      expect(text).to.match(/^HTTP\/1\.1 413 /);
      expect(text).to.include('{"error":"request body larger than 1024 bytes","status":413}');
      expect(fleet.calls).to.deep.equal([]);
    });

    it('a peer that hangs up halfway through a body is no notice, and the fleet is never asked', async () => {
      const socket = connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write('POST /proxies HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nContent-Length: 100\r\n\r\n{"name":');
      await until(() => api.connections === 1, 'the connection to be taken');
      socket.destroy();
      await until(() => api.connections === 0, 'the connection to be gone');
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      expect(notices).to.deep.equal([]);
      expect(fleet.calls).to.deep.equal([]);
      expect((await call(port, 'GET', '/version')).status).to.equal(200);
    });

    it('an error the fleet did not mean (not an ApiError) is 500 with its message, as toxiproxy\'s apiError, and a notice', async () => {
      fleet.list = () => {
        throw new TypeError('something broke');
      };
      expectError(await call(port, 'GET', '/proxies'), 500, 'something broke');
      expect(notices).to.have.length(1);
      expect(notices[0]).to.match(/^control API: GET \/proxies: TypeError: something broke/);
      expect((await call(port, 'GET', '/version')).status).to.equal(200);
    });

    it('a fleet that has not answered in 25 s gets 503 with an empty body (toxiproxy\'s TimeoutHandler)', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      let release!: () => void;
      fleet.hold = new Promise<void>((r) => (release = r));
      const reply = call(port, 'POST', '/reset');
      await until(() => fleet.calls.length === 1, 'the reset to reach the fleet');
      await clock.tickAsync(24_999);
      let answered = false;
      void reply.then(() => (answered = true));
      await new Promise((r) => setImmediate(r));
      expect(answered).to.equal(false);
      await clock.tickAsync(1);
      const late = await reply;
      expect(late.status).to.equal(503);
      expect(late.body).to.equal('');
      release();
    });

    it('while the fleet works the connection has no idle timeout (it would cut a slow answer), and has it again once answered', async () => {
      const sockets: Socket[] = [];
      api.server.on('connection', (s: Socket) => sockets.push(s));
      let release!: () => void;
      fleet.hold = new Promise<void>((r) => (release = r));
      const reply = call(port, 'POST', '/reset');
      await until(() => fleet.calls.length === 1, 'the reset to reach the fleet');
      expect(sockets.map((s) => s.timeout)).to.deep.equal([0]);
      release();
      expect((await reply).status).to.equal(204);
      // Re-armed before the answer is written: a peer that will not read it still goes.
      expect(sockets[0]!.timeout).to.be.greaterThan(0);
    });
  });

  describe('proxies', () => {
    it('POST /proxies: 201 with the proxy in toxiproxy\'s field order, then settings; listen answered with the real port', async () => {
      const reply = await create({ name: 'redis', listen: 'localhost:0', upstream: '127.0.0.1:6379' });
      expect(reply.status).to.equal(201);
      expect(reply.headers['content-type']).to.equal('application/json');
      expect(reply.body).to.equal(
        JSON.stringify({ name: 'redis', listen: '127.0.0.1:20000', upstream: '127.0.0.1:6379', enabled: true, toxics: [], settings: SETTINGS }),
      );
      expect(Object.keys(reply.json as object)).to.deep.equal(['name', 'listen', 'upstream', 'enabled', 'toxics', 'settings']);
    });

    it('a proxy body\'s "toxics" never reaches the fleet (toxiproxy\'s API does not decode it; its Go client always sends it)', async () => {
      await create({ name: 'redis', upstream: 'x:1', toxics: null });
      await call(port, 'PATCH', '/proxies/redis', json({ enabled: false, toxics: [{ type: 'latency' }] }));
      await call(port, 'POST', '/populate', json([{ name: 'pg', upstream: 'x:2', toxics: [] }]));
      expect(fleet.calls).to.deep.equal([
        ['create', { name: 'redis', upstream: 'x:1' }],
        ['update', 'redis', { enabled: false }],
        ['populate', [{ name: 'pg', upstream: 'x:2' }]],
      ]);
    });

    it('POST /proxies with enabled false creates it down, listen as asked', async () => {
      const reply = await create({ name: 'redis', listen: 'localhost:7000', upstream: '127.0.0.1:6379', enabled: false });
      expect(reply.status).to.equal(201);
      expect(reply.json).to.include({ enabled: false, listen: 'localhost:7000' });
    });

    it('POST /proxies refusals: missing name or upstream 400, duplicate 409, listen taken 500 with the bind error', async () => {
      expectError(await create({ upstream: 'x:1' }), 400, 'missing required field: name');
      expectError(await create({ name: '', upstream: 'x:1' }), 400, 'missing required field: name');
      expectError(await create({ name: 'redis' }), 400, 'missing required field: upstream');
      expect((await create({ name: 'redis', upstream: 'x:1' })).status).to.equal(201);
      expectError(await create({ name: 'redis', upstream: 'x:1' }), 409, 'proxy already exists');
      fleet.taken.add('127.0.0.1:3310');
      expectError(
        await create({ name: 'mysql', listen: '127.0.0.1:3310', upstream: 'x:1' }),
        500,
        'listen tcp 127.0.0.1:3310: bind: address already in use',
      );
    });

    const badBodies: [what: string, body: string, message: string][] = [
      ['an empty body', '', 'bad request body: EOF'],
      ['whitespace', ' \n', 'bad request body: EOF'],
      ['a cut object', '{"name": "redis", ', 'bad request body: unexpected EOF'],
      ['an array', '[{"name": "redis"}]', 'bad request body: expected a JSON object, got an array'],
      ['a string', '"redis"', 'bad request body: expected a JSON object, got a string'],
      ['a number', '5', 'bad request body: expected a JSON object, got a number'],
    ];
    for (const [what, body, message] of badBodies) {
      it(`POST /proxies with ${what}: 400 "${message}"`, async () => {
        expectError(await call(port, 'POST', '/proxies', { body }), 400, message);
        expect(fleet.calls).to.deep.equal([]);
      });
    }

    it('POST /proxies with text that is not JSON: 400 "bad request body: ..." with the parser\'s reason', async () => {
      const reply = await call(port, 'POST', '/proxies', { body: 'name=redis' });
      expect(reply.status).to.equal(400);
      expect((reply.json as { error: string }).error).to.match(/^bad request body: .*JSON/);
    });

    it('POST /proxies with null reads as an empty proxy (Go decodes null into the struct): missing name', async () => {
      expectError(await call(port, 'POST', '/proxies', { body: 'null' }), 400, 'missing required field: name');
    });

    it('GET /proxies: 200, an object name -> proxy, keys in byte order as Go writes a map', async () => {
      expect((await call(port, 'GET', '/proxies')).body).to.equal('{}');
      for (const name of ['b', 'a', '9', '10', 'B']) await create({ name, upstream: 'x:1' });
      const reply = await call(port, 'GET', '/proxies');
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/json');
      const keys = [...reply.body.matchAll(/"([^"]+)":\{"name"/g)].map((m) => m[1]);
      expect(keys).to.deep.equal(['10', '9', 'B', 'a', 'b']);
      expect((reply.json as Record<string, { name: string }>).a!.name).to.equal('a');
    });

    it('GET /proxies/{p}: 200 with the proxy and its toxics; 404 "proxy not found"', async () => {
      await create({ name: 'redis', listen: '127.0.0.1:7000', upstream: 'x:1' });
      await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'latency', attributes: { latency: 100 } }));
      const reply = await call(port, 'GET', '/proxies/redis');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.equal(
        JSON.stringify({
          name: 'redis',
          listen: '127.0.0.1:7000',
          upstream: 'x:1',
          enabled: true,
          toxics: [{ attributes: { latency: 100, jitter: 0 }, name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1 }],
          settings: SETTINGS,
        }),
      );
      expectError(await call(port, 'GET', '/proxies/nope'), 404, 'proxy not found');
    });

    for (const method of ['POST', 'PATCH']) {
      it(`${method} /proxies/{p}: 200; enabled false takes it down, true brings it back, a new upstream is taken, settings change`, async () => {
        await create({ name: 'redis', listen: '127.0.0.1:7000', upstream: 'x:1' });
        const down = await call(port, method, '/proxies/redis', json({ enabled: false }));
        expect(down.status).to.equal(200);
        expect(down.headers['content-type']).to.equal('application/json');
        expect(down.json).to.include({ name: 'redis', enabled: false, listen: '127.0.0.1:7000', upstream: 'x:1' });
        const up = await call(port, method, '/proxies/redis', json({ enabled: true, upstream: 'y:2', window: '1MiB' }));
        expect(up.json).to.deep.include({ enabled: true, upstream: 'y:2', settings: { ...SETTINGS, window: '1MiB' } });
        expect(fleet.calls.at(-1)).to.deep.equal(['update', 'redis', { enabled: true, upstream: 'y:2', window: '1MiB' }]);
      });
    }

    it('POST /proxies/{p} on a missing proxy is 404 even with a bad body (toxiproxy looks it up first); a bad body on a real one is 400', async () => {
      expectError(await call(port, 'PATCH', '/proxies/nope', { body: '{oops' }), 404, 'proxy not found');
      await create({ name: 'redis', upstream: 'x:1' });
      expectError(await call(port, 'PATCH', '/proxies/redis', { body: '' }), 400, 'bad request body: EOF');
      expect(fleet.calls.filter((c) => c[0] === 'update')).to.deep.equal([]);
    });

    it('POST /proxies/{p} that needs a taken address: 500 with the bind error', async () => {
      await create({ name: 'redis', listen: '127.0.0.1:7000', upstream: 'x:1' });
      fleet.taken.add('127.0.0.1:7001');
      expectError(await call(port, 'PATCH', '/proxies/redis', json({ listen: '127.0.0.1:7001' })), 500, 'listen tcp 127.0.0.1:7001: bind: address already in use');
    });

    it('DELETE /proxies/{p}: 204 with no body, then 404', async () => {
      await create({ name: 'redis', upstream: 'x:1' });
      const reply = await call(port, 'DELETE', '/proxies/redis');
      expect(reply.status).to.equal(204);
      expect(reply.body).to.equal('');
      expect(reply.headers['content-type']).to.equal(undefined);
      expectError(await call(port, 'DELETE', '/proxies/redis'), 404, 'proxy not found');
    });

    it('POST /reset: 204; every proxy enabled and every toxic gone', async () => {
      await create({ name: 'a', upstream: 'x:1', enabled: false });
      await create({ name: 'b', upstream: 'x:1' });
      await call(port, 'POST', '/proxies/b/toxics', json({ type: 'latency' }));
      const reply = await call(port, 'POST', '/reset');
      expect(reply.status).to.equal(204);
      expect(reply.body).to.equal('');
      const all = (await call(port, 'GET', '/proxies')).json as Record<string, { enabled: boolean; toxics: unknown[] }>;
      expect(Object.values(all).map((p) => [p.enabled, p.toxics.length])).to.deep.equal([
        [true, 0],
        [true, 0],
      ]);
    });
  });

  describe('POST /populate (api.go Populate, proxy_collection.go PopulateJson)', () => {
    const populate = (body: unknown) => call(port, 'POST', '/populate', json(body));

    it('201 {"proxies": [...]} in the order given; application/json', async () => {
      const reply = await populate([
        { name: 'one', listen: 'localhost:0', upstream: 'x:1' },
        { name: 'two', listen: '127.0.0.1:7002', upstream: 'x:2', enabled: false },
      ]);
      expect(reply.status).to.equal(201);
      expect(reply.headers['content-type']).to.equal('application/json');
      const proxies = (reply.json as { proxies: { name: string; listen: string; enabled: boolean }[] }).proxies;
      expect(Object.keys(reply.json as object)).to.deep.equal(['proxies']);
      expect(proxies.map((p) => [p.name, p.listen, p.enabled])).to.deep.equal([
        ['one', '127.0.0.1:20000', true],
        ['two', '127.0.0.1:7002', false],
      ]);
    });

    it('is idempotent: a proxy with the same listen and upstream is kept (toxics and all), a different one replaced', async () => {
      const config = [
        { name: 'one', listen: 'localhost:7001', upstream: 'x:1' },
        { name: 'two', listen: 'localhost:7002', upstream: 'x:2' },
      ];
      await populate(config);
      await call(port, 'POST', '/proxies/one/toxics', json({ type: 'latency' }));
      await call(port, 'POST', '/proxies/two/toxics', json({ type: 'latency' }));
      const again = await populate([config[0], { ...config[1], upstream: 'x:3' }]);
      expect(again.status).to.equal(201);
      const proxies = (again.json as { proxies: { name: string; upstream: string; toxics: unknown[] }[] }).proxies;
      expect(proxies.map((p) => [p.name, p.upstream, p.toxics.length])).to.deep.equal([
        ['one', 'x:1', 1],
        ['two', 'x:3', 0],
      ]);
    });

    it('an entry without a name: 400 naming it ("at proxy 2"), the error fields then "proxies", nothing created', async () => {
      const reply = await populate([{ name: 'one', upstream: 'x:1' }, { upstream: 'x:2' }]);
      expect(reply.status).to.equal(400);
      // Populate writes its own errors: JSON, application/json, no newline.
      expect(reply.headers['content-type']).to.equal('application/json');
      expect(reply.body).to.equal('{"error":"missing required field: name at proxy 2","status":400,"proxies":[]}');
      expect((await call(port, 'GET', '/proxies')).body).to.equal('{}');
    });

    it('an entry without an upstream: 400 "missing required field: upstream at proxy 1"', async () => {
      const reply = await populate([{ name: 'one' }]);
      expect(reply.json).to.deep.equal({ error: 'missing required field: upstream at proxy 1', status: 400, proxies: [] });
    });

    it('a taken listen address part-way: the bind error with status 500, beside the proxies made before it', async () => {
      fleet.taken.add('127.0.0.1:7002');
      const reply = await populate([
        { name: 'one', listen: '127.0.0.1:7001', upstream: 'x:1' },
        { name: 'two', listen: '127.0.0.1:7002', upstream: 'x:2' },
        { name: 'three', listen: '127.0.0.1:7003', upstream: 'x:3' },
      ]);
      expect(reply.status).to.equal(500);
      const body = reply.json as { error: string; status: number; proxies: { name: string }[] };
      expect(Object.keys(body)).to.deep.equal(['error', 'status', 'proxies']);
      expect(body.error).to.equal('listen tcp 127.0.0.1:7002: bind: address already in use');
      expect(body.status).to.equal(500);
      expect(body.proxies.map((p) => p.name)).to.deep.equal(['one']);
    });

    it('an empty array: 201 {"proxies":[]} (toxiproxy writes null, which toxiproxy-node-client cannot iterate)', async () => {
      const reply = await populate([]);
      expect(reply.status).to.equal(201);
      expect(reply.body).to.equal('{"proxies":[]}');
    });

    const bad: [what: string, body: string, message: string][] = [
      ['an empty body', '', 'bad request body: EOF'],
      ['an object', '{"proxies": []}', 'bad request body: expected a JSON array of proxies, got an object'],
      ['a number in the array', '[{"name": "a", "upstream": "b"}, 3]', 'bad request body: expected a JSON object at proxy 2, got a number'],
      ['a cut array', '[{"name": "a"', 'bad request body: unexpected EOF'],
    ];
    for (const [what, body, message] of bad) {
      it(`${what}: 400 "${message}" beside "proxies": []`, async () => {
        const reply = await call(port, 'POST', '/populate', { body });
        expect(reply.status).to.equal(400);
        expect(reply.json).to.deep.equal({ error: message, status: 400, proxies: [] });
        expect(fleet.calls).to.deep.equal([]);
      });
    }
  });

  describe('toxics', () => {
    beforeEach(async () => {
      await create({ name: 'redis', upstream: 'x:1' });
    });

    it('GET /proxies/{p}/toxics: 200 [] then the toxics, upstream chain first as toxiproxy lists them', async () => {
      const empty = await call(port, 'GET', '/proxies/redis/toxics');
      expect(empty.status).to.equal(200);
      expect(empty.headers['content-type']).to.equal('application/json');
      expect(empty.body).to.equal('[]');
      await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'latency' }));
      await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 10 } }));
      const names = ((await call(port, 'GET', '/proxies/redis/toxics')).json as { name: string }[]).map((t) => t.name);
      expect(names).to.deep.equal(['bandwidth_upstream', 'latency_downstream']);
      expectError(await call(port, 'GET', '/proxies/nope/toxics'), 404, 'proxy not found');
    });

    it('POST /proxies/{p}/toxics: 200 (not 201), the toxic with attributes first as ToxicWrapper marshals; name defaults to type_stream', async () => {
      const reply = await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'latency', toxicity: 0.5, attributes: { latency: 100, jitter: 10 } }));
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/json');
      expect(reply.body).to.equal(
        '{"attributes":{"latency":100,"jitter":10},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":0.5}',
      );
      const named = await call(port, 'POST', '/proxies/redis/toxics', json({ name: 'cut', type: 'limit_data', stream: 'upstream', attributes: { bytes: 5 } }));
      expect(named.json).to.deep.equal({ attributes: { bytes: 5 }, name: 'cut', type: 'limit_data', stream: 'upstream', toxicity: 1 });
    });

    it('POST /proxies/{p}/toxics refusals: bad stream 400, unknown type 400, same name 409, missing proxy 404 even with a bad body', async () => {
      expectError(await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'latency', stream: 'sideways' })), 400, 'stream was invalid, can be either upstream or downstream');
      expectError(await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'walrus' })), 400, 'invalid toxic type');
      await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'latency' }));
      expectError(await call(port, 'POST', '/proxies/redis/toxics', json({ type: 'latency' })), 409, 'toxic already exists');
      expectError(await call(port, 'POST', '/proxies/nope/toxics', { body: '{' }), 404, 'proxy not found');
      expectError(await call(port, 'POST', '/proxies/redis/toxics', { body: '{' }), 400, 'bad request body: unexpected EOF');
    });

    it('GET /proxies/{p}/toxics/{t}: 200; 404 "toxic not found"; 404 "proxy not found"', async () => {
      await call(port, 'POST', '/proxies/redis/toxics', json({ name: 'lag', type: 'latency' }));
      const reply = await call(port, 'GET', '/proxies/redis/toxics/lag');
      expect(reply.status).to.equal(200);
      expect(Object.keys(reply.json as object)).to.deep.equal(['attributes', 'name', 'type', 'stream', 'toxicity']);
      expectError(await call(port, 'GET', '/proxies/redis/toxics/nope'), 404, 'toxic not found');
      expectError(await call(port, 'GET', '/proxies/nope/toxics/lag'), 404, 'proxy not found');
    });

    for (const method of ['POST', 'PATCH']) {
      it(`${method} /proxies/{p}/toxics/{t}: 200 with attributes and toxicity changed`, async () => {
        await call(port, 'POST', '/proxies/redis/toxics', json({ name: 'lag', type: 'latency', attributes: { latency: 100 } }));
        const reply = await call(port, method, '/proxies/redis/toxics/lag', json({ toxicity: 0.25, attributes: { latency: 300 } }));
        expect(reply.status).to.equal(200);
        expect(reply.json).to.deep.equal({ attributes: { latency: 300, jitter: 0 }, name: 'lag', type: 'latency', stream: 'downstream', toxicity: 0.25 });
      });
    }

    it('POST /proxies/{p}/toxics/{t} on a missing toxic is 404 whatever the body (UpdateToxicJson looks first); a bad body on a real one 400', async () => {
      expectError(await call(port, 'PATCH', '/proxies/redis/toxics/nope', { body: '' }), 404, 'toxic not found');
      await call(port, 'POST', '/proxies/redis/toxics', json({ name: 'lag', type: 'latency' }));
      expectError(await call(port, 'PATCH', '/proxies/redis/toxics/lag', { body: '' }), 400, 'bad request body: EOF');
      expect(fleet.calls.filter((c) => c[0] === 'updateToxic')).to.deep.equal([]);
    });

    it('DELETE /proxies/{p}/toxics/{t}: 204 with no body, then 404', async () => {
      await call(port, 'POST', '/proxies/redis/toxics', json({ name: 'lag', type: 'latency' }));
      const reply = await call(port, 'DELETE', '/proxies/redis/toxics/lag');
      expect(reply.status).to.equal(204);
      expect(reply.body).to.equal('');
      expectError(await call(port, 'DELETE', '/proxies/redis/toxics/lag'), 404, 'toxic not found');
    });
  });

  describe("sluice's additions", () => {
    beforeEach(async () => {
      await create({ name: 'redis', upstream: 'x:1' });
      fleet.openConnections('redis', [connection(1), connection(2), connection(3)]);
    });

    it('GET /proxies/{p}/connections: 200 {total, connections}; ?limit=N passed on', async () => {
      const all = await call(port, 'GET', '/proxies/redis/connections');
      expect(all.status).to.equal(200);
      expect(all.headers['content-type']).to.equal('application/json');
      expect(all.json).to.deep.equal({ total: 3, connections: [connection(1), connection(2), connection(3)] });
      expect(fleet.calls.at(-1)).to.deep.equal(['connections', 'redis', undefined]);
      const one = await call(port, 'GET', '/proxies/redis/connections?limit=1');
      expect(one.json).to.deep.equal({ total: 3, connections: [connection(1)] });
      expect(fleet.calls.at(-1)).to.deep.equal(['connections', 'redis', 1]);
    });

    for (const limit of ['abc', '-1', '1.5', '', '99999999999999999999']) {
      it(`GET /proxies/{p}/connections?limit=${limit}: 400`, async () => {
        expectError(await call(port, 'GET', `/proxies/redis/connections?limit=${limit}`), 400, `invalid limit: expected a whole number, got ${JSON.stringify(limit)}`);
      });
    }

    it('GET /proxies/{p}/connections of a missing proxy: 404', async () => {
      expectError(await call(port, 'GET', '/proxies/nope/connections'), 404, 'proxy not found');
    });

    it('DELETE /proxies/{p}/connections/{id}: 204, then 404 "connection not found"; an id that is no number is 404 too', async () => {
      const reply = await call(port, 'DELETE', '/proxies/redis/connections/2');
      expect(reply.status).to.equal(204);
      expect(fleet.calls.at(-1)).to.deep.equal(['closeConnection', 'redis', 2]);
      expectError(await call(port, 'DELETE', '/proxies/redis/connections/2'), 404, 'connection not found');
      expectError(await call(port, 'DELETE', '/proxies/redis/connections/abc'), 404, 'connection not found');
      expectError(await call(port, 'DELETE', '/proxies/nope/connections/abc'), 404, 'proxy not found');
      expectError(await call(port, 'DELETE', '/proxies/nope/connections/1'), 404, 'proxy not found');
    });

    it('POST /reload: 200 with what changed; a file that does not validate is 400 with the fleet\'s reason', async () => {
      fleet.reloadOutcome = { added: ['b'], removed: [], changed: ['redis'], unchanged: [], failed: [] };
      const reply = await call(port, 'POST', '/reload');
      expect(reply.status).to.equal(200);
      expect(reply.json).to.deep.equal({ added: ['b'], removed: [], changed: ['redis'], unchanged: [], failed: [] });
      fleet.reloadOutcome = new ApiError(400, 'proxy "b": window: expected a size, got "lots"');
      expectError(await call(port, 'POST', '/reload'), 400, 'proxy "b": window: expected a size, got "lots"');
    });
  });
});
