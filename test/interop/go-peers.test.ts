import { expect } from 'chai';
import { connect } from 'node:net';
import {
  buildGoPeers,
  runClient,
  startEchoServer,
  type EchoServer,
  type GoPeers,
} from '../../scenarios/harness/go-peers.js';

const MiB = 1024 * 1024;

describe('interop: independent Go yamux peers (hashicorp/yamux)', function () {
  let peers: GoPeers;
  let server: EchoServer | undefined;

  before(async function () {
    this.timeout(300_000); // a first build compiles yamux too
    const built = await buildGoPeers();
    if (!built) {
      // buildGoPeers() has logged why (goPeersUnavailableReason()).
      this.skip();
    }
    peers = built;
    server = await startEchoServer(peers.echoServer, { quiet: true });
  });

  after(async function () {
    await server?.stop();
  });

  it('Go client -> Go echo server: 8 streams x 4 MiB, every byte back', async function () {
    this.timeout(120_000);
    const r = await runClient(peers.client, server!.address, { streams: 8, bytes: 4 * MiB, pings: 3 });
    expect(r.error, r.stderr).to.equal(undefined);
    expect(r.exitCode).to.equal(0);
    expect(r.ok).to.equal(true);
    expect(r.streams).to.have.length(8);
    for (const s of r.streams) {
      expect(s.error, `stream ${s.streamId}`).to.equal(undefined);
      expect(s.bytesSent).to.equal(4 * MiB);
      expect(s.bytesReceived, `stream ${s.streamId}`).to.equal(4 * MiB);
      expect(s.receivedSha256).to.equal(s.sentSha256);
      expect(s.match).to.equal(true);
      expect(s.remoteClosed).to.equal(true);
    }
    // A yamux client opens odd stream ids: 1, 3, 5, ...
    expect(r.streams.map((s) => s.streamId).sort((a, b) => a - b)).to.deep.equal([1, 3, 5, 7, 9, 11, 13, 15]);
    // Different seeds, different data.
    expect(new Set(r.streams.map((s) => s.sentSha256)).size).to.equal(8);
    expect(r.totals).to.include({ streams: 8, matched: 8, bytesSent: 32 * MiB, bytesReceived: 32 * MiB });
    expect(r.rttMs).to.have.length(3);
    console.log(
      `      8 x 4 MiB echoed in ${r.totals.durationMs.toFixed(0)} ms ` +
        `(${r.totals.sendMiBps.toFixed(1)} MiB/s each way; slowest stream ` +
        `${Math.max(...r.streams.map((s) => s.durationMs)).toFixed(0)} ms; ping RTT ${r.rttMs.map((x) => x.toFixed(2)).join('/')} ms)`,
    );
  });

  it('send mode half-closes without expecting an echo; a discard server FINs back with no data', async function () {
    this.timeout(60_000);
    const sink = await startEchoServer(peers.echoServer, { mode: 'discard', quiet: true });
    try {
      const r = await runClient(peers.client, sink.address, { mode: 'send', streams: 3, bytes: MiB, goAway: true });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.ok).to.equal(true);
      expect(r.goAway).to.equal(true);
      for (const s of r.streams) {
        expect(s.bytesSent).to.equal(MiB);
        expect(s.bytesReceived).to.equal(0);
        expect(s.remoteClosed).to.equal(true);
      }
    } finally {
      await sink.stop();
    }
  });

  it('a non-default window and keepalive off interoperate', async function () {
    this.timeout(60_000);
    const big = await startEchoServer(peers.echoServer, { window: 4 * MiB, keepalive: false, quiet: true });
    try {
      const r = await runClient(peers.client, big.address, { streams: 2, bytes: 8 * MiB, window: 4 * MiB, keepalive: false });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.window).to.equal(4 * MiB);
      expect(r.totals.matched).to.equal(2);
    } finally {
      await big.stop();
    }
  });

  it('the client fails (exit 1, ok false) when the echo is missing', async function () {
    this.timeout(60_000);
    const sink = await startEchoServer(peers.echoServer, { mode: 'discard', quiet: true });
    try {
      const r = await runClient(peers.client, sink.address, { streams: 2, bytes: 64 * 1024 });
      expect(r.exitCode).to.equal(1);
      expect(r.ok).to.equal(false);
      expect(r.totals.matched).to.equal(0);
    } finally {
      await sink.stop();
    }
  });

  it('the peers refuse non-loopback addresses before any traffic', async function () {
    const r = await runClient(peers.client, '192.0.2.1:9', { streams: 1, bytes: 1 });
    expect(r.exitCode).to.equal(1);
    expect(r.error).to.match(/non-loopback/);
    let err: Error | undefined;
    await startEchoServer(peers.echoServer, { listen: '0.0.0.0:0' }).then(
      (s) => s.stop(),
      (e: Error) => (err = e),
    );
    expect(err?.message).to.match(/non-loopback/);
  });

  it('stop() ends the server process and frees its port', async function () {
    const s = await startEchoServer(peers.echoServer);
    await s.stop();
    await s.stop(); // idempotent
    expect(() => process.kill(s.pid, 0)).to.throw();
    const refused = await new Promise<boolean>((resolve) => {
      const sock = connect(s.port, s.host);
      sock.once('connect', () => {
        sock.destroy();
        resolve(false);
      });
      sock.once('error', () => resolve(true));
    });
    expect(refused).to.equal(true);
  });
});
