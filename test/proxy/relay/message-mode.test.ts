import { expect } from 'chai';
import sinon from 'sinon';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayServer, type AccessLogEntry, type RelayServerOptions } from '../../../proxy/index.js';
import { LineChecker, numberedLines } from '../../../scenarios/harness/numbered-lines.js';
import { Scope } from '../../../scenarios/harness/scope.js';
import { messageBurst, type MessageBurstObservations, type Producer } from '../../../scenarios/message-burst.js';
import { randomChunks, seededRandom, sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, readAll, Resources, until, writeAll } from '../../helpers/sockets.js';

/** One u32be-framed message: 4-byte big-endian length, then the body. */
function u32be(body: string): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, Buffer.from(body)]);
}

describe('message mode (--messages, --overflow)', () => {
  const res = new Resources();
  const scope = new Scope();
  const servers: RelayServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
    await scope.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A target whose single connection the test controls, created paused (reads nothing). */
  async function pausedTarget(): Promise<{ port: number; socket: () => Promise<Socket> }> {
    let resolveSocket: (s: Socket) => void;
    const accepted = new Promise<Socket>((r) => (resolveSocket = r));
    const server = res.server(
      createServer({ allowHalfOpen: true }, (s) => {
        s.pause();
        resolveSocket(s);
      }),
    );
    return { port: await listen(server), socket: () => accepted };
  }

  async function start(targetPort: number, options: Partial<RelayServerOptions>): Promise<{ server: RelayServer; port: number; logs: AccessLogEntry[] }> {
    const logs: AccessLogEntry[] = [];
    const server = new RelayServer({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      target: { kind: 'tcp', host: '127.0.0.1', port: targetPort },
      windowBytes: 64 * 1024,
      onAccessLog: (e) => logs.push(e),
      ...options,
    });
    servers.push(server);
    const a = await server.listen();
    return { server, port: a.kind === 'tcp' ? a.port : 0, logs };
  }

  /** The burst scenario (scenarios/message-burst.ts) against a relay in this process; `when` says when the target starts reading. */
  async function burst(
    options: Partial<RelayServerOptions>,
    lines: { payload: Buffer; count: number },
    when: (server: RelayServer, producer: Producer) => Promise<void>,
  ): Promise<{ server: RelayServer; seen: MessageBurstObservations }> {
    let server!: RelayServer;
    const seen = await messageBurst({
      scope,
      start: async (targetPort) => {
        const started = await start(targetPort, { messages: 'lines', ...options });
        server = started.server;
        return { port: started.port };
      },
      lines,
      readFrom: { when: (producer) => when(server, producer) },
      writeBytes: 100_000,
    });
    return { server, seen };
  }

  for (const policy of ['drop-newest', 'drop-oldest'] as const) {
    it(`${policy}: the producer is never held back; only whole, in-order messages arrive; delivered + dropped = sent`, async () => {
      const count = 60_000;
      const lines = numberedLines({ count });
      const { server, seen } = await burst({ overflow: policy }, lines, async (relay, producer) => {
        // The target reads nothing, yet every byte leaves the producer: nobody held it back.
        await producer.finished;
        await until(() => relay.stats().clientToTarget.bytes === lines.payload.length, 'the relay reading everything');
      });
      expect(seen.producerDoneMs).to.be.below(seen.readFromMs);
      expect(seen.problem, 'whole messages, in increasing order').to.equal(null);
      const dropped = server.messagesDroppedByReason();
      expect(seen.delivered + dropped[policy]).to.equal(count);
      expect(dropped[policy]).to.be.greaterThan(0);
      expect(server.stats().clientToTarget.pauses).to.equal(0);
      if (policy === 'drop-oldest') expect(seen.lastSeq).to.equal(count - 1);
    });
  }

  it('--rate with drop-newest: the rate shapes what reaches the target; the producer is never held, the surplus is dropped and counted', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const rate = 1024 * 1024;
      const targetServer = res.server(createServer({ allowHalfOpen: true }));
      const targetPort = await listen(targetServer);
      const arrived = new Promise<Socket>((r) => targetServer.once('connection', r));
      const { server, port } = await start(targetPort, { messages: 'lines', overflow: 'drop-newest', rateBytesPerS: rate, now: () => clock.now });
      const count = 25_000;
      const data = numberedLines({ count }).payload; // about 10 MB
      const client = res.socket(await connectTo(port));
      const targetSide = await arrived;
      const chunks: Buffer[] = [];
      targetSide.on('data', (d: Buffer) => chunks.push(d));
      const got = readAll(targetSide).then(() => Buffer.concat(chunks));
      // The clock stands still, so the rate never lets anything more through: if it held the
      // producer, this write would never finish.
      await writeAll(client, randomChunks(data, 100_000, 6));
      await until(() => server.stats().clientToTarget.bytes === data.length, 'the relay reading everything');
      expect(server.stats().clientToTarget.pauses).to.equal(0);
      const droppedWhileStill = server.messagesDroppedByReason()['drop-newest'];
      expect(droppedWhileStill).to.be.greaterThan(count / 2);
      // Then time passes: what was queued drains at the rate, and the end follows it.
      let received: Buffer = Buffer.alloc(0);
      void got.then((b) => (received = b));
      while (received.length === 0) {
        await clock.tickAsync(100);
        await new Promise((r) => setImmediate(r));
      }
      const checker = new LineChecker();
      checker.push(received);
      checker.finish();
      expect(checker.problem, 'whole messages, in increasing order').to.equal(null);
      expect(checker.delivered + server.messagesDroppedByReason()['drop-newest']).to.equal(count);
      // Never more than a second of burst, a window and a message ahead of the rate.
      expect(received.length).to.be.at.most(rate + 64 * 1024 + 800 + (rate * clock.now) / 1000);
      targetSide.end();
    } finally {
      clock.restore();
    }
  });

  it('block: holds the producer back and drops nothing', async () => {
    const lines = numberedLines({ count: 60_000 });
    const { server, seen } = await burst({ overflow: 'block' }, lines, (relay, producer) =>
      until(() => relay.stats().clientToTarget.pauses > 0 && producer.socket.writableLength > 0, 'the producer held back'),
    );
    expect(seen.producerDoneMs).to.be.above(seen.readFromMs);
    expect(seen.intact, 'every byte, in order').to.equal(true);
    expect(seen.bytesReceived).to.equal(lines.payload.length);
    expect(server.messagesDropped()).to.equal(0);
    expect(server.messagesForwardedTotal()).to.equal(60_000);
  });

  it('spill: absorbs a burst on disk without holding the producer back, delivers it all in order, then deletes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-spill-test-'));
    dirs.push(dir);
    const lines = numberedLines({ count: 80_000 });
    let peakRam = 0;
    const { server, seen } = await burst({ overflow: 'spill', spillDir: dir, spillMaxBytes: 256 * 1024 * 1024 }, lines, async (relay, producer) => {
      await producer.finished;
      await until(() => {
        peakRam = Math.max(peakRam, relay.bufferedBytes());
        return relay.stats().clientToTarget.bytes === lines.payload.length;
      }, 'the relay taking everything');
      // Everything left the producer while the target read nothing: the disk took the burst (the
      // producer may wait a moment for a write batch to reach the disk, never for the target).
      expect(relay.spilledBytes()).to.be.greaterThan(1024 * 1024);
    });
    expect(seen.producerDoneMs).to.be.below(seen.readFromMs);
    expect(seen.intact, 'every byte, in order').to.equal(true);
    expect(server.messagesDropped()).to.equal(0);
    await until(() => server.activeConnections === 0, 'the connection finishing');
    expect(server.spilledBytes()).to.equal(0);
    const runDirs = readdirSync(dir);
    expect(runDirs).to.have.length(1);
    expect(readdirSync(join(dir, runDirs[0]!))).to.deep.equal([]);
    // RAM stayed near the window plus the spool's write batch, whatever went to disk.
    expect(peakRam).to.be.lessThan(2 * 1024 * 1024);
  });

  it('spill: once --spill-max is used up it holds the producer back (block), and still loses nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-spill-test-'));
    dirs.push(dir);
    const target = await pausedTarget();
    const spillMaxBytes = 256 * 1024;
    const { server, port } = await start(target.port, { messages: 'lines', overflow: 'spill', spillDir: dir, spillMaxBytes });
    const data = numberedLines({ count: 20_000 }).payload; // about 8 MB: far more than the window and the spill allowance
    const client = res.socket(await connectTo(port));
    const targetSide = await target.socket();
    const sent = writeAll(client, randomChunks(data, 100_000, 7));
    await until(() => server.stats().clientToTarget.pauses > 0 && server.spilledBytes() > 0, 'the producer held back with spill in use');
    expect(server.spilledBytes()).to.be.at.most(spillMaxBytes);
    expect(server.stats().clientToTarget.bytes).to.be.below(data.length);
    const got = readAll(targetSide);
    targetSide.resume();
    await sent;
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    expect(server.messagesDropped()).to.equal(0);
  });

  it('closes a connection whose message passes --max-message, after delivering what came before it', async () => {
    const received: Buffer[] = [];
    const target = res.server(createServer({ allowHalfOpen: true }, (s) => s.on('data', (d: Buffer) => received.push(d)).on('end', () => s.end())));
    const { server, port, logs } = await start(await listen(target), { messages: 'lines', overflow: 'drop-newest', maxMessageBytes: 100 });
    const client = res.socket(await connectTo(port));
    const closed = readAll(client).catch(() => null);
    client.write('0 a\n1 b\n' + 'x'.repeat(500) + '\n2 c\n');
    await closed;
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]!.end).to.equal('message-too-large');
    expect(Buffer.concat(received).toString()).to.equal('0 a\n1 b\n');
    expect(server.messagesDroppedByReason()['too-large']).to.equal(1);
  });

  it('at the end of input: a last line without \\n is delivered as it is; a u32be message cut short is counted incomplete', async () => {
    for (const [messages, input, delivered, incomplete] of [
      ['lines', Buffer.from('0 a\n1 b\nno newline'), '0 a\n1 b\nno newline', 0],
      ['u32be', Buffer.concat([u32be('whole'), Buffer.from([0, 0, 0, 9]), Buffer.from('cut')]), u32be('whole').toString('latin1'), 1],
    ] as const) {
      const received: Buffer[] = [];
      const target = res.server(createServer({ allowHalfOpen: true }, (s) => s.on('data', (d: Buffer) => received.push(d)).on('end', () => s.end())));
      const { server, port, logs } = await start(await listen(target), { messages, overflow: 'drop-newest' });
      const client = res.socket(await connectTo(port));
      const closed = readAll(client);
      client.end(input);
      await closed;
      await until(() => logs.length === 1, 'the log line');
      expect(Buffer.concat(received).toString('latin1'), messages).to.equal(delivered);
      expect(server.messagesDroppedByReason().incomplete, messages).to.equal(incomplete);
      expect(server.messagesForwardedTotal(), messages).to.equal(messages === 'lines' ? 3 : 1);
    }
  });

  it('u32be framing: random chunking through drop-oldest with a fast target delivers every message intact', async () => {
    const parts: Buffer[] = [];
    const rnd = seededRandom(9);
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.alloc(1 + Math.floor(rnd() * 3000), i % 251);
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(body.length);
      parts.push(prefix, body);
    }
    const data = Buffer.concat(parts);
    const target = res.server(createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
    const { server, port } = await start(await listen(target), { messages: 'u32be', overflow: 'drop-oldest', windowBytes: 1024 * 1024 });
    const client = res.socket(await connectTo(port));
    const got = readAll(client);
    await writeAll(client, randomChunks(data, 7000, 10));
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    expect(server.messagesForwardedTotal()).to.equal(3000);
  });
});
