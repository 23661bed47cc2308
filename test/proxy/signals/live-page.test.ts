import { expect } from 'chai';
import { Script } from 'node:vm';
import { LIVE_PAGE_ASSETS } from '../../../proxy/signals/live-page/index.js';
import { requestTarget, startHttpEndpoints, type HttpEndpointsOptions } from '../../../proxy/signals/http-endpoints.js';
import { CONNECTIONS_LIMITS, limitFromQuery, mergePages } from '../../../proxy/signals/connections-view.js';
// From the public entry point, as README says a library user takes them (the build checks it).
import type { ConnectionView, ConnectionsPage } from '../../../proxy/index.js';
import { MetricsRegistry } from '../../../proxy/signals/metrics.js';
import { httpRequest } from '../../helpers/http.js';
import { tcp } from '../../helpers/tunnel.js';

/** A connection view with the given id, held state and buffered bytes (client to target). */
function view(id: number, held: boolean, bufferedBytes: number): ConnectionView {
  const direction = { bytes: 0, deliveredBytes: 0, bufferedBytes, windowBytes: 1, held, holdReasons: [], heldForMs: 0, heldBackMs: 0, pauses: 0 };
  return { id, client: `127.0.0.1:${1000 + id}`, target: 't', phase: 'relaying', ageMs: 0, held, clientToTarget: direction, targetToClient: null };
}

describe('metrics port: the live page and /connections', () => {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });

  async function serve(options: HttpEndpointsOptions = {}): Promise<number> {
    const registry = new MetricsRegistry();
    registry.gauge('sluice_connections_active', 'help', () => 3);
    const endpoints = await startHttpEndpoints(tcp(0), registry, undefined, options);
    started.push(endpoints);
    return endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
  }

  it('GET / is the page, with a policy that lets only its own files load and nothing frame it', async () => {
    const port = await serve();
    const page = await httpRequest(port, '/');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).to.match(/default-src 'none'; script-src 'self'; style-src 'self'.*frame-ancestors 'none'/);
    expect(page.headers['x-content-type-options']).to.equal('nosniff');
    expect(page.headers['referrer-policy']).to.equal('no-referrer');
    expect(page.body).to.include('<script src="live.js" defer></script>');
    expect(page.body).to.include('<link rel="stylesheet" href="live.css">');
  });

  it('serves the script, style and icon, and answers 304 while the browser has the same one', async () => {
    const port = await serve();
    for (const [path, type] of [['/live.js', 'text/javascript'], ['/live.css', 'text/css'], ['/favicon.svg', 'image/svg+xml']] as const) {
      const first = await httpRequest(port, path);
      expect([first.status, first.headers['content-type']?.toString().split(';')[0]], path).to.deep.equal([200, type]);
      expect(first.body).to.equal(LIVE_PAGE_ASSETS.get(path)!.body.toString('utf8'));
      const again = await httpRequest(port, path, { headers: { 'if-none-match': String(first.headers.etag) } });
      expect([again.status, again.body], path).to.deep.equal([304, '']);
    }
  });

  it('the script is valid JavaScript and every file is our own: nothing is loaded from anywhere else', () => {
    expect(() => new Script(LIVE_PAGE_ASSETS.get('/live.js')!.body.toString('utf8'))).to.not.throw();
    for (const [path, asset] of LIVE_PAGE_ASSETS) {
      const urls = asset.body.toString('utf8').match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*/gi) ?? [];
      expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg'), path).to.deep.equal([]);
    }
  });

  it('GET /connections answers the source\'s page as JSON, asking it for ?limit= (clamped; default 100)', async () => {
    const asked: number[] = [];
    const port = await serve({
      connections: (limit): ConnectionsPage => {
        asked.push(limit);
        return { total: 2, limit, connections: [view(1, true, 10)].slice(0, limit) };
      },
    });
    const answer = await httpRequest(port, '/connections?limit=5');
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(answer.headers['cache-control']).to.equal('no-store');
    expect(JSON.parse(answer.body)).to.deep.equal({ total: 2, limit: 5, connections: [view(1, true, 10)] });
    for (const query of ['', '?limit=', '?limit=abc', '?limit=5000', '?limit=-3', '?limit=0', '?limit=2.9']) await httpRequest(port, `/connections${query}`);
    expect(asked).to.deep.equal([5, 100, 100, 100, 1000, 0, 0, 2]);
  });

  it('an async source is awaited; one that fails answers 500 with its message', async () => {
    let fail = false;
    const port = await serve({
      connections: async (limit) => {
        await new Promise((r) => setImmediate(r));
        if (fail) throw new Error('worker gone');
        return { total: 0, limit, connections: [] };
      },
    });
    expect(JSON.parse((await httpRequest(port, '/connections')).body)).to.deep.equal({ total: 0, limit: 100, connections: [] });
    fail = true;
    const failed = await httpRequest(port, '/connections');
    expect([failed.status, JSON.parse(failed.body)]).to.deep.equal([500, { error: 'worker gone' }]);
  });

  it('without a source /connections is 404; /metrics and /healthz are as before', async () => {
    const port = await serve();
    expect((await httpRequest(port, '/connections')).status).to.equal(404);
    expect((await httpRequest(port, '/metrics')).body).to.include('sluice_connections_active 3');
    expect((await httpRequest(port, '/healthz')).body).to.equal('ok\n');
    expect((await httpRequest(port, '/nothing')).body).to.equal('not found: try /, /connections, /metrics or /healthz\n');
    // A process that runs no named proxies (relay, tunnel sidecars) knows no name.
    expect(await httpRequest(port, '/healthz?proxy=redis')).to.deep.include({ status: 404, body: 'no proxy named "redis"\n' });
  });

  it('a metric or health read that throws (a library user\'s gauge) answers 500 with its message; the port goes on answering', async () => {
    const registry = new MetricsRegistry();
    let down = true;
    registry.gauge('app_flaky', 'help', () => {
      if (down) throw new Error('db down');
      return 1;
    });
    const endpoints = await startHttpEndpoints(tcp(0), registry, () => {
      if (down) throw new Error('no health');
      return { ok: true };
    });
    started.push(endpoints);
    const port = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    expect(await httpRequest(port, '/metrics')).to.deep.include({ status: 500, body: 'db down\n' });
    expect(await httpRequest(port, '/healthz')).to.deep.include({ status: 500, body: 'no health\n' });
    down = false;
    expect((await httpRequest(port, '/metrics')).body).to.include('app_flaky 1');
  });

  it('changes nothing: every method but GET and HEAD is refused with 405, before the source is asked', async () => {
    let asked = 0;
    const port = await serve({ connections: (limit) => (asked++, { total: 0, limit, connections: [] }) });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/', '/connections', '/live.js']) {
        const answer = await httpRequest(port, path, { method });
        expect([answer.status, answer.headers.allow], `${method} ${path}`).to.deep.equal([405, 'GET, HEAD']);
      }
    }
    expect(asked).to.equal(0);
    const head = await httpRequest(port, '/connections', { method: 'HEAD' });
    expect([head.status, head.body]).to.deep.equal([200, '']);
  });
});

describe('request targets on the metrics port', () => {
  for (const [target, path, query] of [
    ['/metrics', '/metrics', ''],
    ['/connections?limit=1', '/connections', 'limit=1'],
    // Found from outside: split('?', 2) dropped everything after a second '?'.
    ['/connections?x=a?b&limit=1', '/connections', 'x=a?b&limit=1'],
    // Absolute form (RFC 9112 3.2.2) answered 404.
    ['http://127.0.0.1:9100/metrics', '/metrics', ''],
    ['HTTP://sluice/healthz?proxy=a', '/healthz', 'proxy=a'],
    ['http://sluice', '/', ''],
  ] as const) {
    it(`${target} -> path ${path}, query "${query}"`, () => {
      expect(requestTarget(target)).to.deep.equal({ path, query });
    });
  }
});

describe('connections view helpers', () => {
  it('limitFromQuery: absent, empty or not a number is the default; the rest is floored and clamped to 0..max', () => {
    const cases: [string, number][] = [
      ['', CONNECTIONS_LIMITS.defaultLimit],
      ['limit=', CONNECTIONS_LIMITS.defaultLimit],
      ['limit=x', CONNECTIONS_LIMITS.defaultLimit],
      ['limit=0', 0],
      ['limit=1', 1],
      ['limit=1000', 1000],
      ['limit=1001', 1000],
      ['limit=-1', 0],
      ['limit=7.8', 7],
      ['other=1&limit=3', 3],
    ];
    for (const [query, want] of cases) expect(limitFromQuery(query), query).to.equal(want);
  });

  it('mergePages adds the totals and keeps the busiest `limit`: held first, then most buffered, then the lowest id', () => {
    const a: ConnectionsPage = { total: 10, limit: 3, connections: [view(1, false, 500), view(2, false, 0), view(3, false, 0)] };
    const b: ConnectionsPage = { total: 4, limit: 3, connections: [view(9, true, 0), view(2, false, 500)] };
    const merged = mergePages([a, b], 3);
    expect(merged.total).to.equal(14);
    expect(merged.limit).to.equal(3);
    expect(merged.connections.map((c) => [c.id, c.held, c.clientToTarget!.bufferedBytes])).to.deep.equal([
      [9, true, 0],
      [1, false, 500],
      [2, false, 500],
    ]);
  });
});
