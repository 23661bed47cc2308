import { expect } from 'chai';
import type { ControlApi } from '../../../proxy/serve/api-server.js';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { call, json, startTestApi } from '../../helpers/control-api.js';
import { closeError, connectTo, echoServer, listen, Resources, until, portOf } from '../../helpers/sockets.js';

/** The control API in front of the real fleet, over raw HTTP: where the two meet. */
describe('control API in front of the fleet (raw HTTP)', () => {
  const res = new Resources();
  let fleet: Fleet;
  let api: ControlApi;
  let port: number;
  let upstream: string;

  beforeEach(async () => {
    fleet = new Fleet({ drainTimeoutMs: 5000 });
    ({ api, port } = await startTestApi(fleet));
    upstream = `127.0.0.1:${await listen(echoServer(res))}`;
  });
  afterEach(async () => {
    await api.close();
    await fleet.shutdown(0);
    await res.closeAll();
  });

  it('POST /proxies: toxiproxy\'s fields in its order, then every setting in effect', async () => {
    const reply = await call(port, 'POST', '/proxies', json({ name: 'redis', listen: '127.0.0.1:0', upstream, window: '1MiB' }));
    expect(reply.status).to.equal(201);
    const body = reply.json as Record<string, unknown>;
    expect(Object.keys(body)).to.deep.equal(['name', 'listen', 'upstream', 'enabled', 'toxics', 'settings']);
    expect((body.settings as Record<string, unknown>).window).to.equal('1MiB');
  });

  it('POST /populate that meets a taken port part-way: the bind error (500) beside the proxies made before it', async () => {
    const taken = await listen(res.server(echoServer(res)));
    const reply = await call(
      port,
      'POST',
      '/populate',
      json([
        { name: 'one', listen: '127.0.0.1:0', upstream },
        { name: 'two', listen: `127.0.0.1:${taken}`, upstream },
        { name: 'three', listen: '127.0.0.1:0', upstream },
      ]),
    );
    expect(reply.status).to.equal(500);
    expect(reply.headers['content-type']).to.equal('application/json');
    const body = reply.json as { error: string; status: number; proxies: { name: string }[] };
    expect(body.error).to.equal(`listen tcp 127.0.0.1:${taken}: bind: address already in use`);
    expect(body.status).to.equal(500);
    expect(body.proxies.map((p) => p.name)).to.deep.equal(['one']);
    expect(fleet.list().map((p) => p.name)).to.deep.equal(['one']);
  });

  it('PATCH /proxies/{p} with sluice settings: 200 with them in effect; a bad value or an unknown key is 400 naming the key', async () => {
    await call(port, 'POST', '/proxies', json({ name: 'redis', listen: '127.0.0.1:0', upstream }));
    const reply = await call(port, 'PATCH', '/proxies/redis', json({ window: '2MiB' }));
    expect(reply.status).to.equal(200);
    expect(((reply.json as { settings: Record<string, unknown> }).settings).window).to.equal('2MiB');

    const bad = await call(port, 'PATCH', '/proxies/redis', json({ window: 'lots' }));
    expect(bad.status).to.equal(400);
    expect((bad.json as { error: string }).error).to.match(/^bad request body: window: /);
    const unknown = await call(port, 'PATCH', '/proxies/redis', json({ colour: 'blue' }));
    expect(unknown.status).to.equal(400);
    expect((unknown.json as { error: string }).error).to.match(/^bad request body: colour: not a setting of a proxy/);
  });

  it('GET /proxies/{p}/connections lists a live connection; DELETE /proxies/{p}/connections/{id} resets it', async () => {
    const created = await call(port, 'POST', '/proxies', json({ name: 'redis', listen: '127.0.0.1:0', upstream }));
    const client = res.socket(await connectTo(portOf((created.json as { listen: string }).listen)));
    const error = closeError(client);
    await until(() => fleet.connections('redis').total === 1, 'the connection to be listed');
    const reply = await call(port, 'GET', '/proxies/redis/connections?limit=10');
    expect(reply.status).to.equal(200);
    const listed = reply.json as { total: number; connections: { id: number }[] };
    expect(listed.total).to.equal(1);
    const id = listed.connections[0]!.id;
    expect((await call(port, 'DELETE', `/proxies/redis/connections/${id}`)).status).to.equal(204);
    expect((await error)?.code).to.equal('ECONNRESET');
    const again = await call(port, 'DELETE', `/proxies/redis/connections/${id}`);
    expect([again.status, (again.json as { error: string }).error]).to.deep.equal([404, 'connection not found']);
  });

  it('takes bodies as toxiproxy\'s Go client sends them (client/proxy.go Save, client.go Populate): "toxics" is ignored, as toxiproxy ignores it', async () => {
    // CreateProxy -> Save: the whole struct, ActiveToxics nil.
    const created = await call(port, 'POST', '/proxies', json({ name: 'redis', listen: '127.0.0.1:0', upstream, enabled: true, toxics: null }));
    expect(created.status, created.body).to.equal(201);
    await call(port, 'POST', '/proxies/redis/toxics', json({ name: 'nothing', type: 'noop' }));
    // Disable -> Save: POST with the toxics it last saw (stale here: one that no longer exists, of a type the fleet lacks).
    const stale = [{ attributes: { latency: 5 }, name: 'gone', type: 'latency', stream: 'downstream', toxicity: 1 }];
    const disabled = await call(port, 'POST', '/proxies/redis', json({ name: 'redis', listen: (created.json as { listen: string }).listen, upstream, enabled: false, toxics: stale }));
    expect(disabled.status, disabled.body).to.equal(200);
    expect((disabled.json as { toxics: { name: string }[] }).toxics.map((t) => t.name)).to.deep.equal(['nothing']);
    // Populate: []Proxy marshalled, toxics null.
    const populated = await call(port, 'POST', '/populate', json([{ name: 'pg', listen: '127.0.0.1:0', upstream, enabled: true, toxics: null }]));
    expect(populated.status, populated.body).to.equal(201);
  });

  it('POST /reload without a config file: 400 with the fleet\'s reason', async () => {
    const reply = await call(port, 'POST', '/reload');
    expect(reply.status).to.equal(400);
    expect((reply.json as { error: string }).error).to.match(/^no config file to reload/);
  });
});
