import { expect } from 'chai';
import { wheelTickMs } from '../../../proxy/relay/relay.js';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import sinon from 'sinon';
import { MetricsRegistry, RelayServer, startHttpEndpoints, type AccessLogEntry, type Address, type RelayServerOptions } from '../../../proxy/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../scenarios/harness/random.js';
import { closeError, connectTo, echoServer, listen, readAll, readSlowly, Resources, until, writeAll } from '../../helpers/sockets.js';
import { startSilentTarget } from '../../helpers/silent-target.js';

interface Started {
  server: RelayServer;
  port: number;
  logs: AccessLogEntry[];
}

describe('RelayServer', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  let clock: sinon.SinonFakeTimers | null = null;

  afterEach(async () => {
    clock?.restore(); // real timers again, so shutdown's deadline can fire
    clock = null;
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  async function start(target: Address, options: Partial<RelayServerOptions> = {}): Promise<Started> {
    const logs: AccessLogEntry[] = [];
    const server = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target, onAccessLog: (e) => logs.push(e), ...options });
    servers.push(server);
    const address = await server.listen();
    return { server, port: address.kind === 'tcp' ? address.port : 0, logs };
  }

  const tcp = (port: number): Address => ({ kind: 'tcp', host: '127.0.0.1', port });

  /** A target server that holds every connection open and lets the test see them. */
  function holdingTarget(): { server: Server; sockets: Socket[] } {
    const sockets: Socket[] = [];
    const server = res.server(createServer({ allowHalfOpen: true }, (s) => sockets.push(s)));
    return { server, sockets };
  }

  for (const readPath of ['onread', 'stream'] as const) {
    for (const seed of [11, 12]) {
      it(`relays random data to an echo target intact and logs one line (${readPath} reads, seed ${seed})`, async () => {
        const target = echoServer(res);
        const { port, logs } = await start(tcp(await listen(target)), { readPath, windowBytes: 64 * 1024 });
        const client = res.socket(await connectTo(port));
        const data = randomBytes(4 * 1024 * 1024 + seed, seed);
        // Mixed piece sizes: tiny ones take the copy path, big ones the zero-copy path.
        const got = readSlowly(client, seed + 1, 32 * 1024);
        await writeAll(client, randomChunks(data, seed % 2 === 0 ? 300_000 : 3_000, seed + 2));
        expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
        await until(() => logs.length === 1, 'the access log line');
        expect(logs[0]).to.include({ id: 1, bytesUp: data.length, bytesDown: data.length, end: 'closed' });
      });
    }

    it(`holds a fast client back to a stalled target's pace, memory within the window (${readPath} reads)`, async () => {
      const held = holdingTarget();
      const windowBytes = 128 * 1024;
      const { server, port } = await start(tcp(await listen(held.server)), { readPath, windowBytes });
      const client = res.socket(await connectTo(port));
      const data = randomBytes(24 * 1024 * 1024, 5);
      const writing = writeAll(client, [data]);
      await until(() => held.sockets.length === 1, 'the target connection');
      const target = held.sockets[0]!;
      target.pause();
      let peak = 0;
      await until(() => {
        peak = Math.max(peak, server.bufferedBytes());
        return server.stats().clientToTarget.pauses > 0;
      }, 'the client being held back');
      const got = readSlowly(target, 6, 64 * 1024);
      const sampler = setInterval(() => (peak = Math.max(peak, server.bufferedBytes())), 1);
      res.defer(() => clearInterval(sampler));
      await writing;
      expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
      target.end();
      // One read buffer past the window at most: reads are at most 64 KiB.
      expect(peak).to.be.at.most(windowBytes + 64 * 1024);
    });
  }

  for (const readPath of ['onread', 'stream'] as const) {
    it(`delivers a greeting the target sends before the client says anything (${readPath} reads)`, async () => {
      const target = res.server(createServer({ allowHalfOpen: true }, (s) => s.end('220 hello\r\n')));
      const { port } = await start(tcp(await listen(target)), { readPath });
      const client = res.socket(await connectTo(port));
      const greeting = readAll(client);
      expect((await greeting).bytes).to.equal('220 hello\r\n'.length);
      client.end();
    });
  }

  it('keeps everything buffered under --memory-budget with many slow connections, windows shrinking as it fills', async () => {
    const held = holdingTarget();
    const budget = 2 * 1024 * 1024;
    const { server, port } = await start(tcp(await listen(held.server)), { windowBytes: 256 * 1024, memoryBudgetBytes: budget });
    const clients = await Promise.all(Array.from({ length: 8 }, async () => res.socket(await connectTo(port))));
    await until(() => held.sockets.length === 8, 'eight target connections');
    for (const t of held.sockets) t.pause();
    let peak = 0;
    const writes = clients.map((c) => writeAll(c, [randomBytes(16 * 1024 * 1024, 3)], false).catch(() => {}));
    await until(() => {
      peak = Math.max(peak, server.governor.budget.usedBytes);
      return server.stats().clientToTarget.pauses >= 8 && clients.every((c) => c.writableLength > 0);
    }, 'every client held back');
    // Eight 256 KiB windows would be 2 MiB; shrunk by the budget's fill they settle well under it.
    expect(peak).to.be.at.most(budget);
    expect(server.bufferedBytes()).to.be.lessThan(budget);
    // What is charged is the memory: the read blocks the buffered bytes sit in, and each connection.
    expect(server.governor.budget.usedBytes).to.equal(server.blocks.inUseBytes + 8 * server.connectionChargeBytes);
    expect(server.bufferedBytes()).to.be.at.most(server.blocks.inUseBytes);
    for (const c of clients) c.destroy();
    for (const t of held.sockets) t.destroy();
    await Promise.all(writes);
    await until(() => server.activeConnections === 0, 'all connections gone');
    expect(server.governor.budget.usedBytes).to.equal(0);
  });

  it('turns new clients away while the memory budget is saturated, and takes them again once it drains', async () => {
    const held = holdingTarget();
    const { server, port, logs } = await start(tcp(await listen(held.server)), { windowBytes: 64 * 1024, memoryBudgetBytes: 128 * 1024 });
    // Twelve directions at the 16 KiB floor hold more than the budget: it saturates.
    const clients = await Promise.all(Array.from({ length: 12 }, async () => res.socket(await connectTo(port))));
    await until(() => held.sockets.length === 12, 'twelve target connections');
    for (const t of held.sockets) t.pause();
    // More than the kernel's socket buffers absorb, so bytes queue in the relay.
    for (const c of clients) void writeAll(c, [Buffer.alloc(16 * 1024 * 1024)], false).catch(() => {});
    await until(() => !server.governor.accepting, 'the budget saturating');
    const turnedAway = res.socket(await connectTo(port));
    expect((await readAll(turnedAway)).bytes).to.equal(0);
    expect(logs.map((l) => l.end)).to.include('overloaded');
    for (const c of clients) c.destroy();
    for (const t of held.sockets) t.destroy();
    await until(() => server.governor.accepting, 'the budget draining');
    const welcome = res.socket(await connectTo(port));
    await until(() => held.sockets.length === 13, 'the new client reaching the target');
    welcome.destroy();
  });

  it('retries a refused connect with backoff, so a client arriving while the target restarts is served', async () => {
    const placeholder = res.server(createServer());
    const targetPort = await listen(placeholder);
    await new Promise<void>((r) => placeholder.close(() => r()));
    const { port, logs } = await start(tcp(targetPort), { connectRetryMs: 3000 });
    const client = res.socket(await connectTo(port));
    const reply = readAll(client);
    client.end('are you back?');
    // The target comes back while the relay is retrying.
    await new Promise((r) => setTimeout(r, 250));
    const back = echoServer(res);
    await new Promise<void>((r) => back.listen(targetPort, '127.0.0.1', () => r()));
    expect((await reply).bytes).to.equal('are you back?'.length);
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]!.end).to.equal('closed');
    expect(logs[0]!.durationMs).to.be.at.least(100); // the first attempt was refused and retried
  });

  it('a dead target: the client is closed once the retries are spent', async () => {
    const gone = res.server(createServer());
    const deadPort = await listen(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    const { logs, port } = await start(tcp(deadPort), { connectRetryMs: 400 });
    const client = res.socket(await connectTo(port));
    expect((await readAll(client)).bytes).to.equal(0);
    await until(() => logs.length === 1, 'the log line');
    expect([logs[0]!.end, logs[0]!.error]).to.deep.equal(['connect-failed', 'ECONNREFUSED']);
    expect(logs[0]!.durationMs).to.be.at.least(100); // it did retry
  });

  it('closes the client of a refused target at once without retries, logs connect-failed, and keeps serving', async () => {
    const gone = res.server(createServer());
    const deadPort = await listen(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    const { server, port, logs } = await start(tcp(deadPort), { connectRetryMs: 0 });
    for (let i = 0; i < 3; i++) {
      const client = res.socket(await connectTo(port));
      expect((await readAll(client)).bytes).to.equal(0);
    }
    await until(() => logs.length === 3, 'three log lines');
    expect(logs.map((l) => [l.end, l.error])).to.deep.equal(Array(3).fill(['connect-failed', 'ECONNREFUSED']));
    expect(server.activeConnections).to.equal(0);
  });

  it('closes the client when the target never answers, after --connect-timeout', async () => {
    const silent = await startSilentTarget();
    res.defer(() => silent.close());
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { server, port, logs } = await start(tcp(silent.port), { connectTimeoutMs: 5000 });
    const client = res.socket(await connectTo(port));
    const ended = readAll(client);
    await until(() => server.activeConnections === 1, 'the connect attempt');
    await clock.tickAsync(4999);
    expect(logs).to.have.length(0);
    await clock.tickAsync(1);
    await ended;
    expect(logs.map((l) => [l.end, l.error])).to.deep.equal([['connect-timeout', 'timeout']]);
  });

  it('never puts more than --max-conns on the target; a waiting client gets the freed slot', async () => {
    const held = holdingTarget();
    const { server, port, logs } = await start(tcp(await listen(held.server)), { maxConns: 2 });
    const clients = await Promise.all([0, 1, 2].map(async () => res.socket(await connectTo(port))));
    await until(() => held.sockets.length === 2 && server.queuedConnections === 1, 'two admitted, one queued');
    clients[0]!.end();
    held.sockets[0]!.end();
    await until(() => held.sockets.length === 3, 'the queued client reaching the target');
    expect(server.activeConnections).to.equal(2);
    const reply = readAll(clients[2]!);
    held.sockets[2]!.end('served');
    clients[2]!.end();
    expect((await reply).bytes).to.equal('served'.length);
    await until(() => logs.length === 2, 'two finished connections');
    expect(logs.every((l) => l.end === 'closed')).to.equal(true);
  });

  it('--rate: holds each direction to the rate by the clock, and delivers every byte in order', async () => {
    const rate = 64 * 1024;
    const data = randomBytes(384 * 1024, 31);
    const target = echoServer(res);
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { server, port } = await start(tcp(await listen(target)), { rateBytesPerS: rate, now: () => clock!.now });
    const client = res.socket(await connectTo(port));
    const got = readAll(client);
    void writeAll(client, randomChunks(data, 50_000, 32));
    let done = false;
    void got.then(() => (done = true));
    const start0 = clock.now;
    while (!done) {
      // The bucket starts full (one second of rate) and may let one more read through: never
      // more than that plus the rate times the time on the clock, whatever the real time.
      const allowed = rate + 64 * 1024 + (rate * (clock.now - start0)) / 1000;
      expect(server.stats().clientToTarget.bytes).to.be.at.most(allowed);
      await clock.tickAsync(50);
      await new Promise((r) => setImmediate(r)); // a real turn for socket I/O
    }
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    // 384 KiB at 64 KiB/s, less the first second's burst and one read: at least 4 s on the clock.
    expect(clock.now - start0).to.be.at.least(((data.length - 2 * 64 * 1024) * 1000) / rate);
  });

  it('closes a client that waited --queue-timeout for a slot', async () => {
    const held = holdingTarget();
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { server, port, logs } = await start(tcp(await listen(held.server)), { maxConns: 1, queueTimeoutMs: 3000 });
    res.socket(await connectTo(port));
    const waiting = res.socket(await connectTo(port));
    await until(() => server.queuedConnections === 1 && held.sockets.length === 1, 'one admitted, one queued');
    const ended = readAll(waiting);
    await clock.tickAsync(2999);
    expect(server.queuedConnections).to.equal(1);
    await clock.tickAsync(1);
    await ended;
    expect(logs.map((l) => l.end)).to.deep.equal(['queue-timeout']);
    expect(held.sockets).to.have.length(1);
  });

  it('closes a queued client that sends nothing after --idle-timeout when that is sooner', async () => {
    const held = holdingTarget();
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { server, port, logs } = await start(tcp(await listen(held.server)), {
      maxConns: 1,
      queueTimeoutMs: 5000,
      idleTimeoutMs: 1000,
      now: () => (clock ? clock.now : performance.now()), // one clock for the queue and the relay's idle timer
    });
    res.socket(await connectTo(port));
    const waiting = res.socket(await connectTo(port));
    await until(() => server.queuedConnections === 1, 'one queued');
    const ended = readAll(waiting);
    await clock.tickAsync(999);
    expect(server.queuedConnections).to.equal(1);
    await clock.tickAsync(1);
    await ended;
    // The admitted one was closed politely (FIN both ways), less than a tick of the timeout wheel
    // after the queued one; its silent target gets the grace period.
    await clock.tickAsync(2000 + wheelTickMs(1000));
    await until(() => logs.length === 2, 'both connections logged');
    expect(logs.map((l) => [l.id, l.end]).sort()).to.deep.equal([[1, 'idle-timeout'], [2, 'idle-timeout']]);
  });

  it('--half-close-timeout shorter than --idle-timeout: fires within a tick of its own (1/128 of it), not of the idle timeout', async () => {
    const held = holdingTarget();
    const halfClose = 1280; // a tick of 10 ms; the idle timeout's (1 h) would be 500 ms
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { port, logs } = await start(tcp(await listen(held.server)), {
      idleTimeoutMs: 3_600_000,
      halfCloseTimeoutMs: halfClose,
      now: () => (clock ? clock.now : performance.now()),
    });
    const client = res.socket(await connectTo(port));
    client.on('end', () => {}).resume();
    await until(() => held.sockets.length === 1, 'the target connection');
    held.sockets[0]!.on('end', () => {}).resume(); // a target that never finishes its side
    const finAt = clock.now;
    client.end();
    await until(() => held.sockets[0]!.readableEnded, "the client's FIN at the target");
    const ends: string[] = [];
    client.once('end', () => ends.push('client'));
    while (ends.length === 0 && clock.now - finAt < halfClose + 500) {
      await clock.tickAsync(1);
      await new Promise((r) => setImmediate(r));
    }
    expect(ends, 'the relay closed the client after the half-close timeout').to.deep.equal(['client']);
    expect(clock.now - finAt).to.be.at.least(halfClose);
    expect(clock.now - finAt, 'within a tick (10 ms) of the half-close timeout, plus a turn').to.be.at.most(halfClose + wheelTickMs(halfClose) + 2);
    await clock.tickAsync(2000);
    await until(() => logs.length === 1, 'the access log line');
    expect(logs[0]!.end).to.equal('half-close-timeout');
  });

  it('turns a client away at once when the queue is full (--max-queue)', async () => {
    const held = holdingTarget();
    const { server, port, logs } = await start(tcp(await listen(held.server)), { maxConns: 1, maxQueue: 1 });
    res.socket(await connectTo(port));
    res.socket(await connectTo(port));
    await until(() => server.queuedConnections === 1, 'one queued');
    const third = res.socket(await connectTo(port));
    expect((await readAll(third)).bytes).to.equal(0);
    expect(logs.map((l) => l.end)).to.deep.equal(['queue-full']);
  });

  it('shuts down gracefully: refuses new clients, lets a transfer in flight finish intact', async () => {
    const target = echoServer(res);
    const { server, port, logs } = await start(tcp(await listen(target)));
    const client = res.socket(await connectTo(port));
    const data = randomBytes(2 * 1024 * 1024, 21);
    const got = readSlowly(client, 22, 16 * 1024);
    client.write(data.subarray(0, 1024 * 1024));
    await until(() => server.activeConnections === 1, 'the connection');
    const stopping = server.shutdown(30_000);
    const refused = await connectTo(port).then(
      (s) => (s.destroy(), 'accepted'),
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(refused).to.equal('ECONNREFUSED');
    await writeAll(client, [data.subarray(1024 * 1024)]);
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    await stopping;
    expect(logs.map((l) => l.end)).to.deep.equal(['closed']);
  });

  it('resets connections still open when the drain deadline passes', async () => {
    const held = holdingTarget();
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const client = res.socket(await connectTo(port));
    await until(() => held.sockets.length === 1, 'the connection');
    const error = closeError(client);
    await server.shutdown(20);
    expect((await error)?.code).to.equal('ECONNRESET');
    expect(logs.map((l) => l.end)).to.deep.equal(['aborted']);
  });

  it('serves /metrics with connection and byte counters, and /healthz', async () => {
    const target = echoServer(res);
    const { server, port, logs } = await start(tcp(await listen(target)));
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    const endpoints = await startHttpEndpoints({ kind: 'tcp', host: '127.0.0.1', port: 0 }, registry);
    res.defer(() => endpoints.close());
    const client = res.socket(await connectTo(port));
    const reply = readAll(client);
    client.end(Buffer.alloc(12345, 1));
    await reply;
    await until(() => logs.length === 1, 'the log line');
    const httpPort = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    const metrics = await httpGet(httpPort, '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metrics.body).to.include('sluice_bytes_total{direction="client_to_target"} 12345');
    expect(metrics.body).to.include('sluice_bytes_total{direction="target_to_client"} 12345');
    expect(metrics.body).to.include('sluice_connections_total 1');
    expect(metrics.body).to.include('sluice_connections_closed_total{end="closed"} 1');
    expect(metrics.body).to.match(/# TYPE sluice_bytes_buffered gauge\nsluice_bytes_buffered 0/);
    const health = await httpGet(httpPort, '/healthz');
    expect([health.status, health.body]).to.deep.equal([200, 'ok\n']);
  });

  it('a scrape passes over the live relays once for its three per-direction families, and a later scrape again', async () => {
    const target = holdingTarget();
    const { server, port } = await start(tcp(await listen(target.server)));
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    for (let i = 0; i < 3; i++) res.socket(await connectTo(port)).write('x'.repeat(100));
    await until(() => target.sockets.length === 3 && /sluice_bytes_total\{direction="client_to_target"\} 300/.test(registry.render()), 'three connections with their bytes');
    const relays = [...(server as unknown as { table: { relays(): Iterable<{ stats(): unknown }> } }).table.relays()];
    const spies = relays.map((r) => sinon.spy(r, 'stats'));
    registry.render();
    expect(spies.map((s) => s.callCount)).to.deep.equal([1, 1, 1]);
    await Promise.resolve();
    registry.render();
    expect(spies.map((s) => s.callCount)).to.deep.equal([2, 2, 2]);
  });

  it('listens and connects over IPv6 and unix sockets', async () => {
    const target = echoServer(res);
    const path = join(tmpdir(), `sluice-test-${process.pid}-${Date.now()}.sock`);
    await new Promise<void>((r) => target.listen(path, () => r()));
    const logs: AccessLogEntry[] = [];
    const server = new RelayServer({ listen: { kind: 'tcp', host: '::1', port: 0 }, target: { kind: 'unix', path }, onAccessLog: (e) => logs.push(e) });
    servers.push(server);
    const address = await server.listen();
    expect(address).to.include({ kind: 'tcp', host: '::1' });
    const client = res.socket(await connectTo(address.kind === 'tcp' ? address.port : 0, '::1'));
    const reply = readAll(client);
    client.end('over unix');
    expect((await reply).bytes).to.equal('over unix'.length);
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]).to.include({ target: `unix:${path}`, end: 'closed' });
  });
});

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
