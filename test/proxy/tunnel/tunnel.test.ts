import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { get } from 'node:http';
import { MetricsRegistry, startHttpEndpoints, type TunnelSession } from '../../../proxy/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../scenarios/harness/random.js';
import { closeError, connectTo, echoServer, listen, readAll, readSlowly, Resources, until, writeAll } from '../../helpers/sockets.js';
import { HashingTarget, parseSeen } from '../../../scenarios/harness/hashing-target.js';
import { Scope } from '../../../scenarios/harness/scope.js';
import { tunnelStall } from '../../../scenarios/tunnel-stall.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('tunnel-client -> tunnel-server (end to end, in process)', () => {
  const res = new Resources();
  const scope = new Scope();
  const tunnels: Tunnel[] = [];
  afterEach(async () => {
    await Promise.all(tunnels.splice(0).map((t) => t.close()));
    await res.closeAll();
    await scope.close();
  });

  async function tunnel(...args: Parameters<typeof startTunnel>): Promise<Tunnel> {
    const t = await startTunnel(...args);
    tunnels.push(t);
    return t;
  }

  for (const readPath of ['onread', 'stream'] as const) {
    it(`12 concurrent connections of random sizes, random writes and slow random readers come back intact (${readPath} reads, seed 5)`, async () => {
      const target = echoServer(res);
      const t = await tunnel(tcp(await listen(target)), { readPath }, { readPath });
      const results = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const data = randomBytes(1 + ((i * 7_654_321) % (3 * MiB)), 500 + i);
          const client = res.socket(await connectTo(t.port));
          const got = i % 3 === 0 ? readSlowly(client, 600 + i, 16 * KiB) : readAll(client);
          await writeAll(client, randomChunks(data, i % 2 === 0 ? 200_000 : 5_000, 700 + i));
          return { got: await got, want: { bytes: data.length, sha256: sha256(data) } };
        }),
      );
      for (const r of results) expect(r.got).to.deep.equal(r.want);
      await until(() => t.clientLogs.length === 12 && t.serverLogs.length === 12, 'every access-log line');
      expect(t.clientLogs.map((e) => e.end)).to.deep.equal(Array(12).fill('closed'));
      expect(t.serverLogs.map((e) => e.end)).to.deep.equal(Array(12).fill('closed'));
      expect(t.client.pool.linksUp).to.equal(1);
      expect(t.server.liveLinks()[0]!.streamCount).to.equal(0);
    });
  }

  it('no head-of-line blocking: a stalled target holds one stream, five others deliver 4 MiB each meanwhile, then it completes', async function () {
    this.timeout(30_000);
    let t!: Tunnel;
    let lookedInside = false;
    const seen = await tunnelStall({
      scope,
      start: async (targetPort) => {
        t = await tunnel(tcp(targetPort));
        return { port: t.port };
      },
      stalledBytes: 8 * MiB,
      otherBytes: 4 * MiB,
      seed: 1,
      whileStalled() {
        // Still stalled: what waits for it on the server is bounded by its stream window.
        const serverSession = t.server.liveLinks()[0]!;
        const [stalledId] = [...serverSession.liveStreams()].map((s) => s.streamId);
        const info = serverSession.framing.streamInfo(stalledId!)!;
        expect(info.recvBufferedBytes).to.be.at.most(info.recvWindowBytes);
        lookedInside = true;
      },
    });
    for (const o of seen.others) expect(o.received).to.deep.equal(o.sent);
    expect(lookedInside).to.equal(true);
    expect(seen.finishedBeforeRelease).to.equal(5);
    expect(seen.stalled.received).to.deep.equal(seen.stalled.sent);
  });

  it('half-close: the client ends first and still gets the whole reply', async () => {
    const target = new HashingTarget(res);
    const t = await tunnel(tcp(await target.listen()));
    const client = res.socket(await connectTo(t.port));
    const chunks: Buffer[] = [];
    client.on('data', (d: Buffer) => chunks.push(d));
    const ended = readAll(client);
    const data = randomBytes(2 * MiB, 9);
    client.end(data);
    await ended;
    expect(parseSeen(Buffer.concat(chunks))).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
  });

  it('half-close: the target ends first and still receives everything the client sends', async () => {
    const received: Buffer[] = [];
    let gotAll!: () => void;
    const allReceived = new Promise<void>((resolve) => (gotAll = resolve));
    const target = res.server(
      createServer({ allowHalfOpen: true }, (s) => {
        s.end('bye');
        s.on('data', (d: Buffer) => received.push(d));
        s.on('end', () => gotAll());
      }),
    );
    const t = await tunnel(tcp(await listen(target)));
    const client = res.socket(await connectTo(t.port));
    const reply = await readAll(client);
    expect(reply.bytes).to.equal(3);
    const data = randomBytes(MiB, 10);
    client.end(data);
    await allReceived;
    expect(sha256(Buffer.concat(received))).to.equal(sha256(data));
  });

  it('a target reset reaches the client as a reset', async () => {
    const target = res.server(createServer((s) => s.once('data', () => s.resetAndDestroy())));
    const t = await tunnel(tcp(await listen(target)));
    const client = res.socket(await connectTo(t.port));
    const failed = closeError(client);
    client.write('hello');
    expect((await failed)?.code).to.equal('ECONNRESET');
    await until(() => t.serverLogs.length === 1 && t.clientLogs.length === 1, 'both log lines');
    expect(t.serverLogs[0]!.end).to.equal('target-reset');
    expect(t.clientLogs[0]!.end).to.equal('target-reset');
  });

  it('a client reset reaches the target as a reset', async () => {
    let targetError: Promise<NodeJS.ErrnoException | null> | undefined;
    const target = res.server(createServer((s) => (targetError = closeError(s))));
    const t = await tunnel(tcp(await listen(target)));
    const client = res.socket(await connectTo(t.port));
    client.write('hello');
    await until(() => targetError !== undefined, 'the target connection');
    client.resetAndDestroy();
    expect((await targetError!)?.code).to.equal('ECONNRESET');
  });

  it('a target that refuses the connection resets the client; the link stays up', async () => {
    const closed = res.server(createServer());
    const port = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const t = await tunnel(tcp(port));
    const client = res.socket(await connectTo(t.port));
    client.write('x');
    expect((await closeError(client))?.code).to.equal('ECONNRESET');
    await until(() => t.serverLogs.length === 1, 'the server log line');
    expect(t.serverLogs[0]).to.include({ end: 'connect-failed', error: 'ECONNREFUSED' });
    expect(t.client.pool.linksUp).to.equal(1);
  });

  it('shutdown: go away, live streams finish within the drain time, new connections are refused', async () => {
    const target = echoServer(res);
    const t = await tunnel(tcp(await listen(target)), {}, { linkWaitMs: 300 });
    const live = res.socket(await connectTo(t.port));
    const echoed = readAll(live);
    live.write('first half ');
    await until(() => t.server.table.active === 1, 'the live stream');
    const shutdown = t.server.shutdown(10_000);
    await until(() => t.client.pool.views().every((v) => v.session.remoteGoAway), 'the go away at the client');
    // A new connection finds no usable link (the server no longer listens) and is closed.
    const late = res.socket(await connectTo(t.port));
    const lateReply = readAll(late).catch(() => ({ bytes: -1, sha256: '' }));
    live.end('second half');
    expect((await echoed).bytes).to.equal(22);
    await shutdown;
    expect((await lateReply).bytes).to.be.at.most(0);
    await until(() => t.clientLogs.length === 2, 'both client log lines');
    expect(t.clientLogs.map((e) => e.end).sort()).to.deep.equal(['closed', 'connect-timeout']);
  });

  it('shutdown: streams still open at the drain deadline are reset', async () => {
    const target = res.server(createServer({ allowHalfOpen: true }, () => {}));
    const t = await tunnel(tcp(await listen(target)));
    const client = res.socket(await connectTo(t.port));
    client.write('never answered');
    await until(() => t.server.table.active === 1, 'the stream');
    const failed = closeError(client);
    await t.server.shutdown(50);
    expect((await failed)?.code).to.equal('ECONNRESET');
  });

  it('a dropped link resets its streams, is dialled again, and new connections are served', async () => {
    const target = echoServer(res);
    const t = await tunnel(tcp(await listen(target)));
    const before = res.socket(await connectTo(t.port));
    before.write('hello');
    await until(() => t.client.pool.views()[0]?.session.streamCount === 1, 'the stream');
    const failed = closeError(before);
    t.client.pool.views()[0]!.session.link.destroy();
    expect((await failed)?.code).to.equal('ECONNRESET');
    await until(() => t.linkLines.some((l) => /client: link 0 lost/.test(l)), 'the loss to be logged');
    const after = res.socket(await connectTo(t.port));
    const echoed = readAll(after);
    after.end('after the drop');
    expect((await echoed).bytes).to.equal(14);
    expect(t.client.pool.reconnects).to.be.at.least(1);
    expect(t.linkLines.filter((l) => l === 'client: link 0 up')).to.have.length(2);
  });

  it('--max-conns on the server: a second stream waits for the first one\'s slot, then is served', async () => {
    const target = new HashingTarget(res);
    const t = await tunnel(tcp(await target.listen()), { maxConns: 1 });
    const first = res.socket(await connectTo(t.port));
    first.write('first');
    await until(() => target.sockets.length === 1, 'the first target connection');
    const second = res.socket(await connectTo(t.port));
    const secondReply = readAll(second);
    second.end('second');
    await until(() => t.server.table.queued === 1, 'the second stream in the queue');
    expect(target.sockets).to.have.length(1);
    const firstReply = readAll(first);
    first.end();
    expect((await firstReply).bytes).to.be.above(0);
    expect((await secondReply).bytes).to.be.above(0);
    expect(target.seen.map((x) => x.bytes)).to.deep.equal([5, 6]);
  });

  it('--links 3 spreads streams over three links, fewest streams first', async () => {
    const holding: Socket[] = [];
    const target = res.server(createServer((s) => holding.push(s)));
    const t = await tunnel(tcp(await listen(target)), {}, { links: 3 });
    await until(() => t.client.pool.linksUp === 3, 'three links');
    for (let i = 0; i < 6; i++) res.socket(await connectTo(t.port)).write('x');
    await until(() => holding.length === 6, 'six target connections');
    expect(t.client.pool.views().map((v) => v.session.streamCount)).to.deep.equal([2, 2, 2]);
    expect(t.server.liveLinks().map((s: TunnelSession) => s.streamCount)).to.deep.equal([2, 2, 2]);
  });

  it('a connection waits a bounded time for a link when the server is down', async () => {
    const t = await tunnel(tcp(1), {}, { linkWaitMs: 100 });
    await t.server.shutdown(0);
    t.client.pool.views()[0]?.session.destroy();
    const client = res.socket(await connectTo(t.port));
    await readAll(client).catch(() => undefined);
    await until(() => t.clientLogs.length === 1, 'the log line');
    expect(t.clientLogs[0]).to.include({ end: 'connect-timeout', error: 'no tunnel link up' });
  });

  it('--max-streams on the client: a connection past the limit waits --link-wait, is closed, and the access log, a log line and a counter name the limit', async () => {
    const holding: Socket[] = [];
    const target = res.server(createServer((s) => holding.push(s)));
    const t = await tunnel(tcp(await listen(target)), {}, { maxStreams: 2, linkWaitMs: 100 });
    await until(() => t.client.pool.linksUp === 1, 'the link');
    for (let i = 0; i < 2; i++) res.socket(await connectTo(t.port)).write('x');
    await until(() => holding.length === 2, 'two target connections');
    const third = res.socket(await connectTo(t.port));
    third.write('y');
    await readAll(third).catch(() => undefined);
    await until(() => t.clientLogs.length === 1, 'the log line');
    expect(t.clientLogs[0]).to.include({ end: 'connect-timeout', error: 'every tunnel link at its stream limit (--max-streams)' });
    expect(t.linkLines.filter((l) => l.includes('stream limit'))).to.have.length(1);
    const registry = new MetricsRegistry();
    t.client.registerMetrics(registry);
    expect(registry.render()).to.match(/^sluice_tunnel_link_wait_timeouts_total\{reason="stream-limit"\} 1$/m);
    expect(holding).to.have.length(2);
  });

  it('serves per-link and per-stream metrics', async () => {
    const target = res.server(createServer(() => {}));
    const t = await tunnel(tcp(await listen(target)));
    const registry = new MetricsRegistry();
    t.client.registerMetrics(registry);
    const endpoints = await startHttpEndpoints(tcp(0), registry);
    res.defer(() => endpoints.close());
    res.socket(await connectTo(t.port)).write(randomBytes(100 * KiB, 1));
    await until(() => (t.client.pool.views()[0]?.session.stats().bytesSent ?? 0) === 100 * KiB, 'the bytes to go out');
    await t.client.pool.views()[0]!.session.ping();
    const port = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    const body = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/metrics' }, (r) => {
        let text = '';
        r.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).to.match(/^sluice_tunnel_links 1$/m);
    expect(body).to.match(/^sluice_tunnel_streams_open\{link="0"\} 1$/m);
    expect(body).to.match(/^sluice_tunnel_rtt_seconds\{link="0"\} [0-9.e-]+$/m);
    expect(body).to.match(/^sluice_tunnel_payload_bytes_total\{direction="sent"\} 102400$/m);
    expect(body).to.match(/^sluice_tunnel_stream_recv_window_bytes\{link="0",stream="1"\} 262144$/m);
    expect(body).to.match(/^sluice_tunnel_stream_send_window_bytes\{link="0",stream="1"\} \d+$/m);
    expect(body).to.match(/^sluice_tunnel_window_updates_total\{direction="received"\} \d+$/m);
    expect(body).to.match(/^sluice_tunnel_link_reconnects_total 0$/m);
    expect(body).to.match(/^sluice_connections_active 1$/m);
  });
});
