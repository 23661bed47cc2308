import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectUsageError, readyPort, startCli, type RunningCli } from '../../helpers/cli.js';
import { httpRequest, type HttpAnswer } from '../../helpers/http.js';
import { connectTo, flood, echoServer, listen, readAll, Resources, until } from '../../helpers/sockets.js';

/** One request to the API (or the metrics port) on 127.0.0.1:port, with a JSON body if given. */
function api(port: number, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  return httpRequest(port, path, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

describe('sluice serve (command line)', function () {
  this.timeout(30_000);
  const res = new Resources();
  const running: RunningCli[] = [];
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sluice-serve-cli-'))));
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.kill()));
    await res.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function config(proxies: unknown): string {
    const path = join(dir, 'sluice.json');
    writeFileSync(path, JSON.stringify(proxies));
    return path;
  }

  it('runs the file\'s proxies, prints the API\'s address once they listen, reloads on SIGHUP, drains on SIGTERM', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const path = config({ proxies: [{ name: 'echo', listen: '127.0.0.1:0', upstream, window: '64KiB' }] });
    const cli = startCli(['serve', '--config', path, '--api', '127.0.0.1:0']);
    running.push(cli);
    const apiPort = await readyPort(cli, 'serve');
    const listed = JSON.parse((await api(apiPort, 'GET', '/proxies')).body) as Record<string, { listen: string; settings: Record<string, unknown> }>;
    expect(Object.keys(listed)).to.deep.equal(['echo']);
    expect(listed.echo!.settings.window).to.equal('64KiB');
    const echoPort = Number(listed.echo!.listen.split(':')[1]);
    const client = res.socket(await connectTo(echoPort));
    const got = readAll(client);
    client.end('through serve');
    expect((await got).bytes).to.equal('through serve'.length);
    await until(() => /proxy=echo conn=1 .* end=closed/.test(cli.stderr()), 'the access log line naming the proxy');

    // A broken file is refused whole: one line, and the proxy keeps running.
    writeFileSync(path, '{"proxies": [');
    cli.child.kill('SIGHUP');
    await until(() => /SIGHUP: .*not JSON.*the running configuration stays/.test(cli.stderr()), 'the refusal');
    expect(Object.keys(JSON.parse((await api(apiPort, 'GET', '/proxies')).body) as object)).to.deep.equal(['echo']);

    config({ proxies: [{ name: 'echo', listen: '127.0.0.1:0', upstream }, { name: 'second', listen: '127.0.0.1:0', upstream }] });
    cli.child.kill('SIGHUP');
    await until(() => /SIGHUP: reloaded .*: 1 added, 0 removed, 1 changed, 0 unchanged/.test(cli.stderr()), 'the reload line');
    expect(Object.keys(JSON.parse((await api(apiPort, 'GET', '/proxies')).body) as object).sort()).to.deep.equal(['echo', 'second']);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).to.equal(0);
  });

  it('/healthz?proxy=NAME answers for that proxy alone (a disabled one is unavailable), 404 for a name it does not know', async () => {
    const stalled = res.server(createServer({ allowHalfOpen: true }, (s) => s.pause()));
    const upstream = `127.0.0.1:${await listen(stalled)}`;
    const path = config({
      proxies: [
        { name: 'held', listen: '127.0.0.1:0', upstream, window: '64KiB' },
        { name: 'idle', listen: '127.0.0.1:0', upstream },
        { name: 'off', listen: '127.0.0.1:0', upstream, enabled: false },
      ],
    });
    const cli = startCli(['serve', '--config', path, '--api', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    running.push(cli);
    const apiPort = await readyPort(cli, 'serve');
    await until(() => /metrics on http:\/\/[^\n]*:\d+\/metrics/.test(cli.stderr()), 'the metrics line');
    const metricsPort = Number(/metrics on http:\/\/[^\n]*:(\d+)\/metrics/.exec(cli.stderr())![1]);
    const healthz = (query: string) => api(metricsPort, 'GET', `/healthz${query}`);

    // One connection to `held`, its target reading nothing: every connection it has is held back.
    const heldPort = Number((JSON.parse((await api(apiPort, 'GET', '/proxies/held')).body) as { listen: string }).listen.split(':')[1]);
    const client = res.socket(await connectTo(heldPort));
    flood(client);
    // Asked every 100 ms (a pace, not a deadline) until the held-back share has filled its window.
    let held = await healthz('?proxy=held');
    while (held.status !== 503) {
      await new Promise((r) => setTimeout(r, 100));
      held = await healthz('?proxy=held');
    }
    // Its pressure is its held-back share (rising to 1 as the held-back window fills).
    expect(held.body).to.match(/^overloaded pressure=(\d\.\d\d) held-back=\1 memory=[\d.]+ event-loop=[\d.]+ concurrency=[\d.]+\n$/);
    expect(held.headers['retry-after']).to.equal('1');
    // The process answers for its worst proxy; `idle` answers for itself, with nothing held back.
    expect((await healthz('')).status).to.equal(503);
    const idle = await healthz('?proxy=idle');
    expect(idle.body).to.match(/^(ok|overloaded) pressure=[\d.]+ held-back=0\.00 memory=0\.00 /);
    expect(idle.status).to.equal(idle.body.startsWith('ok') ? 200 : 503);

    const off = await healthz('?proxy=off');
    expect([off.status, off.body, off.headers['retry-after']]).to.deep.equal([503, 'disabled proxy off accepts no connections\n', '1']);
    const unknown = await healthz('?proxy=nope');
    expect([unknown.status, unknown.body]).to.deep.equal([404, 'no proxy named "nope"\n']);
  });

  it('toxiproxy\'s own config (a bare array) is read as is', async () => {
    const path = config([{ name: 'toxi', listen: '127.0.0.1:0', upstream: '127.0.0.1:6379', enabled: true }]);
    const cli = startCli(['serve', '--config', path, '--api', '127.0.0.1:0']);
    running.push(cli);
    const apiPort = await readyPort(cli, 'serve');
    const proxy = JSON.parse((await api(apiPort, 'GET', '/proxies/toxi')).body) as { upstream: string; enabled: boolean };
    expect(proxy).to.deep.include({ upstream: '127.0.0.1:6379', enabled: true });
  });

  it('a bad file at start: exit 2, one line naming the proxy and the key', async () => {
    const path = config({ proxies: [{ name: 'ok', upstream: '127.0.0.1:1' }, { name: 'redis', upstream: '127.0.0.1:6379', 'max-conns': 'many' }] });
    await expectUsageError(['serve', '--config', path, '--api', '127.0.0.1:0'], /^sluice serve: .*sluice\.json: proxy redis: max-conns: expected a whole number, got "many"$/m);
    await expectUsageError(['serve', '--config', join(dir, 'missing.json'), '--api', '127.0.0.1:0'], /missing\.json: cannot read it \(ENOENT\)/);
  });

  it('a file naming one listen address twice at start: exit 2, one line naming the second proxy and listen', async () => {
    const path = config({ proxies: [{ name: 'b', listen: 'localhost:25902', upstream: '127.0.0.1:1' }, { name: 'c', listen: '127.0.0.1:25902', upstream: '127.0.0.1:2' }] });
    await expectUsageError(['serve', '--config', path, '--api', '127.0.0.1:0'], /^sluice serve: .*sluice\.json: proxy c: listen: 127\.0\.0\.1:25902 is where proxy b listens \(localhost:25902\)$/m);
  });

  it('a config that is not a regular file at start (a FIFO, a device): exit 2, one line naming it, nothing read', async () => {
    const fifo = join(dir, 'sluice.fifo');
    execFileSync('mkfifo', [fifo]);
    await expectUsageError(['serve', '--config', fifo, '--api', '127.0.0.1:0'], /^sluice serve: .*sluice\.fifo: not a regular file \(a FIFO\)$/m);
    await expectUsageError(['serve', '--config', '/dev/null', '--api', '127.0.0.1:0'], /^sluice serve: \/dev\/null: not a regular file \(a character device\)$/m);
  });

  it('refuses --api on a non-loopback address without --api-insecure (exit 2)', async () => {
    await expectUsageError(['serve', '--api', '0.0.0.0:0'], /--api: refusing non-loopback 0\.0\.0\.0:0/);
  });
});
