import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AccessLogEntry } from '../../../proxy/index.js';
import { MetricsRegistry } from '../../../proxy/index.js';
import { loadConfigFile } from '../../../proxy/serve/config-file.js';
import { ApiError } from '../../../proxy/serve/control.js';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { resourceBaseline, settledSince } from '../../helpers/handles.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { closeError, connectTo, echoServer, listen, readAll, readSlowly, Resources, until, writeAll, portOf, collectText, flood } from '../../helpers/sockets.js';

describe('sluice serve: the fleet of proxies', () => {
  const res = new Resources();
  const fleets: Fleet[] = [];
  let dir: string;
  let logs: AccessLogEntry[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-fleet-'));
    logs = [];
  });
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.shutdown(0)));
    await res.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function fleet(configFile?: string): Fleet {
    const f = new Fleet({ drainTimeoutMs: 5000, onAccessLog: (e) => logs.push(e), ...(configFile ? { configFile } : {}) });
    fleets.push(f);
    return f;
  }

  function writeConfig(proxies: unknown[]): string {
    const path = join(dir, 'sluice.json');
    writeFileSync(path, JSON.stringify({ proxies }));
    return path;
  }

  async function echoThrough(port: number, size: number, seed: number): Promise<void> {
    const data = randomBytes(size, seed);
    const client = res.socket(await connectTo(port));
    const got = readAll(client);
    await writeAll(client, [data]);
    expect(await got).to.deep.equal({ bytes: size, sha256: sha256(data) });
  }

  it('creates a proxy listening on the real port when 0 was asked, relays through it, names it in the access log', async () => {
    const target = echoServer(res);
    const f = fleet();
    const view = await f.create({ name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(target)}` });
    expect(view).to.deep.include({ name: 'echo', enabled: true, toxics: [] });
    expect(portOf(view.listen)).to.be.greaterThan(0);
    await echoThrough(portOf(view.listen), 100_000, 1);
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]!.proxy).to.equal('echo');
    expect(f.list().map((p) => p.name)).to.deep.equal(['echo']);
  });

  it('answers toxiproxy\'s errors: exists (409), not found (404), missing field (400), address in use (500)', async () => {
    const f = fleet();
    const taken = res.server(echoServer(res));
    const takenPort = await listen(taken);
    await f.create({ name: 'a', upstream: '127.0.0.1:1' });
    const err = async (p: Promise<unknown>) => p.then(() => expect.fail('resolved'), (e: ApiError) => [e.status, e.message]);
    expect(await err(f.create({ name: 'a', upstream: '127.0.0.1:1' }))).to.deep.equal([409, 'proxy already exists']);
    expect(await err(f.create({ upstream: '127.0.0.1:1' }))).to.deep.equal([400, 'missing required field: name']);
    expect(await err(f.create({ name: 'b' }))).to.deep.equal([400, 'missing required field: upstream']);
    expect(await err(f.create({ name: 'c', listen: `127.0.0.1:${takenPort}`, upstream: '127.0.0.1:1' }))).to.deep.equal([500, `listen tcp 127.0.0.1:${takenPort}: bind: address already in use`]);
    expect(() => f.get('nope')).to.throw(ApiError, 'proxy not found');
    expect(f.list().map((p) => p.name)).to.deep.equal(['a']);
  });

  it('disable drops the listener and the connections; enable listens again; delete stops it', async () => {
    const target = echoServer(res);
    const f = fleet();
    const view = await f.create({ name: 'p', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(target)}` });
    const port = portOf(view.listen);
    const open = res.socket(await connectTo(port));
    const ended = closeError(open);
    expect((await f.update('p', { enabled: false })).enabled).to.equal(false);
    expect((await ended)?.code).to.equal('ECONNRESET');
    await connectTo(port).then(
      (s) => (s.destroy(), expect.fail('still listening')),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ECONNREFUSED'),
    );
    const again = await f.update('p', { enabled: true, listen: `127.0.0.1:${port}` });
    expect(again.enabled).to.equal(true);
    await echoThrough(portOf(again.listen), 1000, 2);
    await f.remove('p');
    expect(f.list()).to.deep.equal([]);
  });

  it('a settings change applies to new connections; the live one carries on over the same port, intact', async () => {
    const target = echoServer(res);
    const f = fleet();
    const view = await f.create({ name: 'p', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(target)}`, window: '256KiB' });
    const port = portOf(view.listen);
    const data = randomBytes(8 * 1024 * 1024, 3);
    const live = res.socket(await connectTo(port));
    const got = readSlowly(live, 4, 64 * 1024);
    const writing = writeAll(live, [data]);
    const changed = await f.update('p', { window: '64KiB', 'max-conns': 7 });
    expect(changed.settings).to.include({ window: '64KiB', 'max-conns': 7 });
    expect(portOf(changed.listen)).to.equal(port);
    await echoThrough(port, 200_000, 5); // a new connection, served by the new settings
    await writing;
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
  });

  it('new connections get new settings at once (max-conns 1, max-queue 0: the second new client is turned away)', async () => {
    const target = echoServer(res);
    const f = fleet();
    const port = portOf((await f.create({ name: 'p', upstream: `127.0.0.1:${await listen(target)}` })).listen);
    const old = res.socket(await connectTo(port)); // held open by the old settings' server
    await f.update('p', { 'max-conns': 1, 'max-queue': 0 });
    const first = res.socket(await connectTo(port));
    first.write('x');
    await until(() => f.connections('p').total === 2, 'the first new client admitted (the old one is listed too)');
    const second = res.socket(await connectTo(port));
    await readAll(second);
    await until(() => logs.some((l) => l.end === 'queue-full'), 'the second turned away');
    expect(old.destroyed).to.equal(false);
  });

  it('a client sending back the resolved listen with a new upstream keeps the port (toxiproxy compares resolved addresses)', async () => {
    const one = echoServer(res);
    const two = echoServer(res);
    const f = fleet();
    const view = await f.create({ name: 'p', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(one)}` });
    const moved = await f.update('p', { listen: view.listen, upstream: `127.0.0.1:${await listen(two)}` });
    expect(moved.listen).to.equal(view.listen);
    await echoThrough(portOf(moved.listen), 1000, 11);
  });

  it('disabled and enabled again with only {enabled}, a proxy asked for port 0 comes back on the same port', async () => {
    const target = echoServer(res);
    const f = fleet();
    const view = await f.create({ name: 'p', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(target)}` });
    expect((await f.update('p', { enabled: false })).listen).to.equal(view.listen);
    expect((await f.update('p', { enabled: true })).listen).to.equal(view.listen);
    await echoThrough(portOf(view.listen), 1000, 12);
  });

  it('populate is idempotent: same listen and upstream keeps a proxy (and its connections); one bad entry creates nothing', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const f = fleet();
    const [first] = await f.populate([{ name: 'p', listen: '127.0.0.1:0', upstream }]);
    const live = res.socket(await connectTo(portOf(first!.listen)));
    const got = readAll(live);
    const [again] = await f.populate([{ name: 'p', listen: '127.0.0.1:0', upstream }]);
    expect(again!.listen).to.equal(first!.listen);
    live.end('still here');
    expect((await got).bytes).to.equal('still here'.length);
    const bad = await f.populate([{ name: 'q', upstream }, { upstream }]).catch((e: ApiError) => e);
    expect([(bad as ApiError).status, (bad as ApiError).message]).to.deep.equal([400, 'missing required field: name at proxy 2']);
    expect(f.list().map((p) => p.name)).to.deep.equal(['p']);
  });

  it('reload: unchanged proxies keep their live transfer, removed ones drain, added ones start, API-made ones stay', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const path = writeConfig([
      { name: 'keep', listen: '127.0.0.1:0', upstream },
      { name: 'drop', listen: '127.0.0.1:0', upstream },
    ]);
    const f = fleet(path);
    await f.start(await loadConfigFile(path));
    await f.create({ name: 'api', listen: '127.0.0.1:0', upstream });
    const keepPort = portOf(f.get('keep').listen);
    const dropPort = portOf(f.get('drop').listen);
    const data = randomBytes(6 * 1024 * 1024, 6);
    const live = res.socket(await connectTo(keepPort));
    const got = readSlowly(live, 7, 64 * 1024);
    const writing = writeAll(live, [data]);
    const draining = res.socket(await connectTo(dropPort));
    const drainingGot = readAll(draining);

    writeConfig([
      { name: 'keep', listen: '127.0.0.1:0', upstream },
      { name: 'new', listen: '127.0.0.1:0', upstream },
    ]);
    const result = await f.reload();
    expect(result).to.deep.equal({ added: ['new'], removed: ['drop'], changed: [], unchanged: ['keep'], failed: [] });
    expect(f.list().map((p) => p.name).sort()).to.deep.equal(['api', 'keep', 'new']);
    // The removed proxy stopped accepting, but its open connection is drained, not cut.
    await connectTo(dropPort).then((s) => (s.destroy(), expect.fail('still listening')), () => {});
    draining.end('last words');
    expect((await drainingGot).bytes).to.equal('last words'.length);
    await writing;
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    expect(portOf(f.get('keep').listen)).to.equal(keepPort);
    await echoThrough(portOf(f.get('new').listen), 1000, 8);
  });

  it('reload: a moved listen binds the new address and drains the old (its open connection carries on, no new one there); new settings reach new connections; an unchanged proxy\'s transfer stays intact', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const path = writeConfig([
      { name: 'keep', listen: '127.0.0.1:0', upstream },
      { name: 'move', listen: '127.0.0.1:0', upstream, window: '256KiB' },
    ]);
    const f = fleet(path);
    await f.start(await loadConfigFile(path));
    const keepPort = portOf(f.get('keep').listen);
    const oldPort = portOf(f.get('move').listen);
    const data = randomBytes(6 * 1024 * 1024, 21);
    const live = res.socket(await connectTo(keepPort));
    const got = readSlowly(live, 22, 64 * 1024);
    // Half before the reload, half after: the transfer spans it whatever the machine's speed.
    await writeAll(live, [data.subarray(0, data.length / 2)], false);
    // Open on the old address across the move: one round trip before, one after.
    const old = res.socket(await connectTo(oldPort));
    const oldGot = collectText(old);
    old.write('before,');
    await until(() => oldGot.text() === 'before,', 'the echo before the move');

    // Another loopback address: a new listen, bound before the old one lets go.
    writeConfig([
      { name: 'keep', listen: '127.0.0.1:0', upstream },
      { name: 'move', listen: '127.0.0.2:0', upstream, window: '64KiB', 'max-conns': 1, 'max-queue': 0 },
    ]);
    const result = await f.reload();
    expect(result).to.deep.equal({ added: [], removed: [], changed: ['move'], unchanged: ['keep'], failed: [] });
    const writing = writeAll(live, [data.subarray(data.length / 2)]);
    const moved = f.get('move');
    expect(moved.listen).to.match(/^127\.0\.0\.2:\d+$/);
    expect(moved.settings).to.include({ window: '64KiB', 'max-conns': 1, 'max-queue': 0 });
    const newPort = portOf(moved.listen);

    // The old address takes no new connection; the one open there still works and ends cleanly.
    await connectTo(oldPort).then(
      (s) => (s.destroy(), expect.fail('the old address still accepts')),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ECONNREFUSED'),
    );
    old.write('after');
    await until(() => oldGot.text() === 'before,after', 'the echo after the move, on the old connection');
    old.end();
    await until(() => oldGot.ended(), 'the old connection finished');

    // New connections at the new address get the new settings: max-conns 1, max-queue 0.
    const first = res.socket(await connectTo(newPort, '127.0.0.2'));
    const firstGot = collectText(first);
    first.write('new');
    await until(() => firstGot.text() === 'new', 'the first new client relayed');
    const second = res.socket(await connectTo(newPort, '127.0.0.2'));
    await readAll(second);
    await until(() => logs.some((l) => l.proxy === 'move' && l.end === 'queue-full'), 'the second new client turned away by max-conns 1');
    expect(first.destroyed).to.equal(false);

    await writing;
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    expect(portOf(f.get('keep').listen)).to.equal(keepPort);
  });

  it('reload: a bad file while a transfer runs changes nothing, is counted, and the transfer completes intact', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const path = writeConfig([{ name: 'p', listen: '127.0.0.1:0', upstream, window: '64KiB' }]);
    const f = fleet(path);
    await f.start(await loadConfigFile(path));
    const before = f.list();
    const port = portOf(before[0]!.listen);
    const data = randomBytes(6 * 1024 * 1024, 23);
    const live = res.socket(await connectTo(port));
    const got = readSlowly(live, 24, 64 * 1024);
    await writeAll(live, [data.subarray(0, data.length / 2)], false);
    writeFileSync(path, '{"proxies": [{"name": "p", "listen": "127.0.0.1:0", "upstream": ');
    const refused = await f.reload().then(() => null, (e: ApiError) => e);
    expect(refused?.status).to.equal(400);
    expect(refused?.message).to.include('not JSON');
    writeConfig([{ name: 'p', listen: '127.0.0.1:0', upstream, window: 'wide' }]);
    const invalid = await f.reload().then(() => null, (e: ApiError) => e);
    expect(invalid?.message).to.match(/proxy p: window: /);
    expect(f.list()).to.deep.equal(before);
    await writeAll(live, [data.subarray(data.length / 2)]);
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    await echoThrough(port, 1000, 25); // still listening, on the same port
    const registry = new MetricsRegistry();
    f.registerMetrics(registry);
    const text = registry.render();
    expect(text).to.match(/^sluice_config_reloads_total\{result="failure"\} 2$/m);
    expect(text).to.match(/^sluice_config_reloads_total\{result="success"\} 0$/m);
  });

  it('reload: a file that does not parse or validate changes nothing and is counted', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const path = writeConfig([{ name: 'p', listen: '127.0.0.1:0', upstream }]);
    const f = fleet(path);
    await f.start(await loadConfigFile(path));
    const before = f.list();
    writeFileSync(path, '{"proxies": [ {"name": "p", "upstream": ');
    await f.reload().then(() => expect.fail('reloaded'), (e: ApiError) => expect([e.status, e.message]).to.satisfy(([s, m]: [number, string]) => s === 400 && m.includes('not JSON')));
    writeConfig([{ name: 'p', listen: '127.0.0.1:0', upstream, window: 'big' }]);
    await f.reload().then(() => expect.fail('reloaded'), (e: ApiError) => expect(e.message).to.match(/proxy p: window: /));
    expect(f.list()).to.deep.equal(before);
    const registry = new MetricsRegistry();
    f.registerMetrics(registry);
    expect(registry.render()).to.match(/^sluice_config_reloads_total\{result="failure"\} 2$/m);
  });

  it('one proxy overloaded (its memory budget full, clients turned away) does not stall another', async () => {
    // A unix socket target: its small kernel buffers cannot swallow what the clients push, so the
    // bytes wait in sluice and its budget fills.
    const stalled = res.server(createServer({ allowHalfOpen: true }, (s) => s.pause()));
    const socketPath = join(dir, 'stalled.sock');
    await new Promise<void>((r) => stalled.listen(socketPath, r));
    const target = echoServer(res);
    const f = fleet();
    const slow = await f.create({ name: 'slow', upstream: `unix:${socketPath}`, 'memory-budget': '256KiB', window: '64KiB' });
    const fast = await f.create({ name: 'fast', upstream: `127.0.0.1:${await listen(target)}` });
    // Thirty connections at the 16 KiB window floor hold more than the 256 KiB budget: it must saturate.
    const pushers = await Promise.all(Array.from({ length: 30 }, async () => res.socket(await connectTo(portOf(slow.listen)))));
    for (const p of pushers) p.write(Buffer.alloc(1024 * 1024));
    const registry = new MetricsRegistry();
    f.registerMetrics(registry);
    await until(() => /^sluice_accepting\{proxy="slow"\} 0$/m.test(registry.render()), 'the slow proxy saturated');
    await echoThrough(portOf(fast.listen), 4 * 1024 * 1024, 13);
    // Health itself is not asserted: its event-loop component is the process's, shared by every
    // proxy, and a loaded machine may push it over. What must not leak is the slow one's budget.
    const text = registry.render();
    expect(text).to.match(/^sluice_accepting\{proxy="fast"\} 1$/m);
    expect(text).to.match(/^sluice_memory_used_bytes\{proxy="fast"\} 0$/m);
  });

  it('the agent answers for the whole process: full weight with no proxy, the worst proxy\'s reply (drain) while one is held back, not drain once it is gone', async () => {
    const f = fleet();
    expect(f.agentReply()).to.equal('up ready 100%\n');
    const stalled = res.server(createServer({ allowHalfOpen: true }, (s) => s.pause()));
    const target = echoServer(res);
    // The idle one first: the reply must come from the worst proxy, not from the first.
    await f.create({ name: 'idle', upstream: `127.0.0.1:${await listen(target)}` });
    const held = await f.create({ name: 'held', upstream: `127.0.0.1:${await listen(stalled)}`, window: '64KiB' });
    // One connection to `held`, its target reading nothing: every connection it has is held back.
    const client = res.socket(await connectTo(portOf(held.listen)));
    flood(client);
    await until(() => f.agentReply() === 'drain\n', 'the held-back proxy draining the whole process');
    expect(f.health('held')!.ok).to.equal(false);
    await f.remove('held');
    await until(() => f.agentReply() !== 'drain\n', 'the whole process ready again once the held-back proxy is gone');
    expect(f.agentReply()).to.match(/^up ready \d+%\n$/);
  });

  it('metrics carry proxy="NAME" on every family of every proxy', async () => {
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const f = fleet();
    await f.create({ name: 'one', upstream });
    await f.create({ name: 'two', upstream });
    await echoThrough(portOf(f.get('one').listen), 5000, 9);
    const registry = new MetricsRegistry();
    f.registerMetrics(registry);
    const text = registry.render();
    expect(text).to.match(/^sluice_connections_total\{proxy="one"\} 1$/m);
    expect(text).to.match(/^sluice_connections_total\{proxy="two"\} 0$/m);
    expect(text).to.match(/^sluice_bytes_total\{proxy="one",direction="client_to_target"\} 5000$/m);
    for (const line of text.split('\n').filter((l) => l.startsWith('sluice_') && !l.startsWith('sluice_config_reloads') && !l.startsWith('sluice_proxies'))) expect(line).to.match(/proxy="(one|two)"/);
  });

  it('a reload storm (50 reloads at once) with connections open leaves no listener or socket behind', async () => {
    const before = await resourceBaseline();
    const target = echoServer(res);
    const upstream = `127.0.0.1:${await listen(target)}`;
    const path = writeConfig([{ name: 'p', listen: '127.0.0.1:0', upstream }]);
    const f = fleet(path);
    await f.start(await loadConfigFile(path));
    const port = portOf(f.get('p').listen);
    const open = await Promise.all([0, 1, 2].map(async () => res.socket(await connectTo(port))));
    const storms: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      writeConfig([{ name: 'p', listen: `127.0.0.1:${port}`, upstream, window: i % 2 === 0 ? '64KiB' : '128KiB' }]);
      storms.push(f.reload());
    }
    await Promise.all(storms);
    await echoThrough(port, 10_000, 10);
    for (const s of open) s.destroy();
    await f.shutdown(0);
    fleets.length = 0;
    await res.closeAll();
    expect(await settledSince(before), 'resources left behind').to.deep.equal({});
  });
});
