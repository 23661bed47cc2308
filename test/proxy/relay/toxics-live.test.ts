import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import sinon from 'sinon';
import { MetricsRegistry, RelayServer, type AccessLogEntry, type Address, type RelayServerOptions } from '../../../proxy/index.js';
import { LeanSocket } from '../../../proxy/net/lean-socket.js';
import { CLOSE_GRACE_MS } from '../../../proxy/relay/relay.js';
import { parseToxicSpec, ToxicSpecError, type ToxicSpec } from '../../../proxy/stages/toxics/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, Resources, writeAll } from '../../helpers/sockets.js';
import { advance, scripted, TOXIC_FAKES, turns } from '../../helpers/toxics.js';
import { collect, holdingTarget, relayed, untilTurns as until } from '../../helpers/live-relay.js';

const tcp = (port: number): Address => ({ kind: 'tcp', host: '127.0.0.1', port });
const toxic = (input: Record<string, unknown>): ToxicSpec => parseToxicSpec(input);

/**
 * Toxics on a live RelayServer over real sockets on 127.0.0.1: added to, updated on and removed
 * from open connections, observed on the fake clock (setTimeout faked, I/O real).
 */
describe('toxics on live connections (RelayServer.setToxics)', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(async () => {
    clock.restore();
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  async function start(target: Address, options: Partial<RelayServerOptions> = {}) {
    const logs: AccessLogEntry[] = [];
    const server = new RelayServer({ listen: tcp(0), target, now: () => clock.now, onAccessLog: (e) => logs.push(e), ...options });
    servers.push(server);
    const address = await server.listen();
    return { server, port: address.kind === 'tcp' ? address.port : 0, logs };
  }

  it('latency added to an open connection: data held exactly `latency` ms on the clock; removed: data flows at once', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)));
    const { target, atClient } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'latency', attributes: { latency: 1000 } })]); // downstream: target to client
    target.write('ping');
    await until(() => server.bufferedBytes() === 4, 'the relay reading ping');
    await advance(clock, 999);
    expect([atClient.bytes, server.bufferedBytes()]).to.deep.equal([0, 4]);
    await clock.tickAsync(1);
    await until(() => atClient.text === 'ping', 'ping at 1000 ms');
    server.setToxics([]);
    target.write('pong');
    await until(() => atClient.text === 'pingpong', 'pong with no time passing');
  });

  it('removing a toxic that holds data hands it on at once, in order', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)));
    const { client, atTarget } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'latency', stream: 'upstream', attributes: { latency: 60_000 } })]);
    client.write('one,');
    client.write('two,');
    await until(() => server.bufferedBytes() === 8, 'both held');
    server.setToxics([]);
    client.write('three');
    await until(() => atTarget.text === 'one,two,three', 'everything, in order, without the clock moving');
  });

  it('a client done both ways while a toxic still holds its last bytes: they still reach the target, then FIN', async () => {
    const held = holdingTarget(res);
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const { client, target, atClient, atTarget } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'latency', stream: 'upstream', attributes: { latency: 1000 } })]);
    client.end('last words');
    target.end('reply');
    await until(() => atClient.ended && client.closed, 'the client done both ways');
    await turns(20);
    expect(target.destroyed, 'the target was torn down with bytes still on their way').to.equal(false);
    await advance(clock, 1000);
    await until(() => atTarget.ended, 'FIN at the target');
    expect(atTarget.text).to.equal('last words');
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]!.end).to.equal('closed');
  });

  it('a connection opened after the toxics were set gets them too', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)), { toxics: [toxic({ type: 'latency', stream: 'upstream', attributes: { latency: 500 } })] });
    const client = res.socket(await connectTo(port));
    await until(() => held.sockets.length === 1, 'the target connection');
    client.write('hello');
    await until(() => server.bufferedBytes() === 5, 'hello read');
    await advance(clock, 499);
    expect(held.received[0]!.bytes).to.equal(0);
    await clock.tickAsync(1);
    await until(() => held.received[0]!.text === 'hello', 'hello at 500 ms');
  });

  for (const readPath of ['onread', 'stream'] as const) {
    it(`bytes a client sent while it waited for a slot go through the toxics too (${readPath} reads)`, async () => {
      const held = holdingTarget(res);
      const { server, port } = await start(tcp(await listen(held.server)), {
        readPath,
        maxConns: 1,
        toxics: [toxic({ type: 'latency', stream: 'upstream', attributes: { latency: 500 } })],
      });
      const first = res.socket(await connectTo(port));
      await until(() => held.sockets.length === 1, 'the first connection');
      const waiting = res.socket(await connectTo(port));
      await until(() => server.queuedConnections === 1, 'the second queued');
      waiting.write('early');
      await turns(20); // read while it waits (one small read)
      first.resetAndDestroy();
      await until(() => held.sockets.length === 2, `the second reaching the target (active ${server.activeConnections}, queued ${server.queuedConnections}, target sockets ${held.sockets.map((s) => s.destroyed)})`);
      await until(() => server.bufferedBytes() === 5 || held.received[1]!.bytes === 5, 'early read by the relay');
      expect(held.received[1]!.bytes, 'early went around the latency toxic').to.equal(0);
      await advance(clock, 500);
      await until(() => held.received[1]!.text === 'early', 'early at 500 ms');
    });
  }

  for (const [toxicity, draw, applies] of [
    [0, 0, false],
    [1, 0.9999, true],
    [0.5, 0.4, true],
    [0.5, 0.6, false],
  ] as const) {
    it(`toxicity ${toxicity} with random() = ${draw}: ${applies ? 'applies' : 'leaves the connection alone'}`, async () => {
      const held = holdingTarget(res);
      const { server, port } = await start(tcp(await listen(held.server)), { random: () => draw });
      const { target, atClient } = await relayed(res, port, held);
      server.setToxics([toxic({ type: 'timeout', toxicity })]);
      const before = server.stats().targetToClient.bytes;
      target.write('data');
      await until(() => server.stats().targetToClient.bytes === before + 4, 'data read');
      // The timeout toxic drops data: either it all arrives, or none does.
      if (!applies) await until(() => atClient.text === 'data', 'data through');
      else {
        await turns(20);
        expect([atClient.text, server.bufferedBytes()]).to.deep.equal(['', 0]);
      }
    });
  }

  it('toxicity is drawn per connection: two connections, one drawn in, one out', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)), { random: scripted(0.3, 0.7) });
    const one = await relayed(res, port, held);
    const two = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'timeout', toxicity: 0.5 })]);
    const before = server.stats().targetToClient.bytes;
    one.target.write('one');
    two.target.write('two');
    await until(() => two.atClient.text === 'two', 'two passes');
    await until(() => server.stats().targetToClient.bytes === before + 6, 'both read');
    expect(one.atClient.bytes).to.equal(0);
  });

  for (const readPath of ['onread', 'stream'] as const) {
    it(`no byte lost or reordered, both ways, while latency, bandwidth, slicer, stall and window come, change and go (${readPath} reads)`, async function () {
      this.timeout(120_000);
      const up = randomBytes(300_000, 41);
      const down = randomBytes(300_000, 42);
      const held = holdingTarget(res);
      const { server, port, logs } = await start(tcp(await listen(held.server)), { readPath, windowBytes: 64 * 1024, random: () => 0 });
      const client = res.socket(await connectTo(port));
      await until(() => held.sockets.length === 1, 'the target connection');
      const target = held.sockets[0]!;
      const atClient = collect(client);
      void writeAll(client, randomChunks(up, 20_000, 43));
      void writeAll(target, randomChunks(down, 20_000, 44));

      const lat = (stream: string, latency: number, jitter = 0) => toxic({ name: `lat-${stream}`, type: 'latency', stream, attributes: { latency, jitter } });
      const bw = (stream: string, rate: number) => toxic({ name: `bw-${stream}`, type: 'bandwidth', stream, attributes: { rate } });
      const slicer = (stream: string, average_size: number, size_variation: number, delay: number) => toxic({ name: `slicer-${stream}`, type: 'slicer', stream, attributes: { average_size, size_variation, delay } });
      const stall = (stream: string, duration: number) => toxic({ name: `stall-${stream}`, type: 'stall', stream, attributes: { duration } });
      const window = (stream: string, bytes: number) => toxic({ name: `window-${stream}`, type: 'window', stream, attributes: { bytes } });
      // One list per step, cycled: each step adds, updates or removes something; a bandwidth toxic
      // on each stream most of the time keeps the transfer going over many steps.
      const plan: ToxicSpec[][] = [
        [bw('upstream', 300), bw('downstream', 300)],
        [bw('upstream', 300), bw('downstream', 300), lat('upstream', 20, 10)],
        [bw('upstream', 300), bw('downstream', 200), lat('upstream', 20, 10), slicer('upstream', 300, 100, 500)],
        [bw('upstream', 300), bw('downstream', 200), lat('upstream', 20, 10), slicer('upstream', 300, 100, 500), stall('downstream', 30)],
        [bw('upstream', 300), bw('downstream', 200), lat('upstream', 20, 10), slicer('upstream', 300, 100, 500), stall('downstream', 30), window('upstream', 3000)],
        [bw('upstream', 500), bw('downstream', 500), lat('upstream', 3), slicer('upstream', 300, 100, 500), window('upstream', 3000)],
        [bw('downstream', 500), lat('upstream', 3), slicer('upstream', 1000, 0, 50), window('upstream', 10_000), lat('downstream', 15, 5), bw('upstream', 100)],
        [bw('downstream', 500), window('upstream', 10_000), lat('downstream', 15, 5), stall('upstream', 0)],
        [bw('downstream', 50), window('downstream', 2000), lat('downstream', 15, 5), slicer('downstream', 700, 300, 0), bw('upstream', 200)],
        [window('downstream', 2000), slicer('downstream', 700, 300, 0), bw('upstream', 300), lat('upstream', 1)],
        [slicer('upstream', 50, 10, 0), lat('downstream', 2), bw('downstream', 1000), bw('upstream', 1000)],
      ];
      let toxicSteps = 0;
      let heldSomething = 0;
      for (let step = 0; !(atClient.ended && held.received[0]!.ended); step++) {
        if (step > 20_000) throw new Error(`stuck: up ${held.received[0]!.bytes}/${up.length}, down ${atClient.bytes}/${down.length}; log ${JSON.stringify(logs)}`);
        if (step % 4 === 0) {
          server.setToxics(plan[(step / 4) % plan.length]!);
          toxicSteps++;
        }
        await clock.tickAsync(5);
        await turns(3);
        if (server.bufferedBytes() > 0) heldSomething++;
      }
      const digest = (chunks: Buffer[]) => createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
      expect({ up: held.received[0]!.bytes, down: atClient.bytes }).to.deep.equal({ up: up.length, down: down.length });
      expect({ up: digest(held.received[0]!.chunks), down: digest(atClient.chunks) }).to.deep.equal({ up: sha256(up), down: sha256(down) });
      // The plan went round at least twice while data flowed, and the toxics did hold data back.
      expect(toxicSteps).to.be.at.least(2 * plan.length);
      expect(heldSomething).to.be.greaterThan(10);
    });
  }

  it('limit_data: exactly `bytes` reach the target, then FIN both ways; the log says toxic-closed by limit_data', async () => {
    const held = holdingTarget(res);
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const { client, atTarget, atClient } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'limit_data', stream: 'upstream', attributes: { bytes: 1000 } })]);
    const data = randomBytes(5000, 7);
    void writeAll(client, randomChunks(data, 700, 8), false);
    await until(() => atTarget.ended && atClient.ended, 'FIN both ways');
    expect(Buffer.concat(atTarget.chunks).equals(data.subarray(0, 1000))).to.equal(true);
    held.sockets[0]!.end(); // the target answers the FIN with its own; the client is closed for it
    await until(() => logs.length === 1, 'the log line');
    expect([logs[0]!.end, logs[0]!.error]).to.deep.equal(['toxic-closed', 'limit_data']);
  });

  it('timeout: data dropped, FIN both ways exactly `timeout` ms after it was added; the log says toxic-closed by timeout', async () => {
    const held = holdingTarget(res);
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const { client, target, atClient, atTarget } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'timeout', attributes: { timeout: 500 } })]);
    const before = server.stats().targetToClient.bytes;
    target.write('lost');
    client.write('kept'); // upstream has no toxic
    await until(() => atTarget.text === 'kept' && server.stats().targetToClient.bytes === before + 4, 'both read');
    await advance(clock, 499);
    expect([atClient.bytes, atClient.ended, atTarget.ended]).to.deep.equal([0, false, false]);
    await clock.tickAsync(1);
    await until(() => atClient.ended && atTarget.ended, 'FIN both ways');
    expect(atClient.bytes).to.equal(0);
    target.end();
    await until(() => logs.length === 1, 'the log line');
    expect([logs[0]!.end, logs[0]!.error]).to.deep.equal(['toxic-closed', 'timeout']);
  });

  it('a toxic closing the connection while another holds data longer than the grace: all of it arrives, then FIN', async () => {
    const held = holdingTarget(res);
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const { client, target, atClient } = await relayed(res, port, held);
    const latencyMs = CLOSE_GRACE_MS + 1000;
    server.setToxics([toxic({ type: 'latency', attributes: { latency: latencyMs } }), toxic({ type: 'limit_data', stream: 'upstream', attributes: { bytes: 5 } })]);
    const reply = randomBytes(100_000, 11);
    target.write(reply);
    await until(() => server.bufferedBytes() === reply.length, 'the reply held by latency');
    client.write('12345'); // limit_data: the connection closes now
    await until(() => held.received[0]!.ended, 'FIN at the target');
    await advance(clock, latencyMs - 1);
    expect([atClient.bytes, atClient.ended, client.destroyed], 'nothing cut off at the grace').to.deep.equal([0, false, false]);
    await clock.tickAsync(1);
    await until(() => atClient.ended, 'FIN at the client');
    expect(sha256(...atClient.chunks)).to.equal(sha256(reply));
    client.end();
    await until(() => logs.length === 1, 'the log line');
    expect([logs[0]!.end, logs[0]!.error]).to.deep.equal(['toxic-closed', 'limit_data']);
  });

  it('closing toward a peer that stopped reading: reset once the grace passes without progress, never a FIN after lost bytes', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)));
    const { client, target } = await relayed(res, port, held);
    target.pause();
    // Far more than the window and both kernels' buffers, until nothing moves toward the target any more.
    void writeAll(client, randomChunks(randomBytes(16 << 20, 12), 64 * 1024, 13), false).catch(() => {});
    let last = -1;
    for (let still = 0; still < 20; ) {
      await turns(1);
      const now = server.bufferedBytes();
      still = now === last && now > 0 ? still + 1 : 0;
      last = now;
    }
    // Seen from the relay: a paused reader behind a full receive buffer learns of a reset as an
    // ordinary end on this kernel, so the test watches which close the relay's socket gets.
    const resetPorts: (number | undefined)[] = [];
    type Resettable = { resetAndDestroy(): unknown; remotePort?: number | undefined };
    const resets = [Socket.prototype, LeanSocket.prototype].map((proto: Resettable) => {
      const original = proto.resetAndDestroy;
      return sinon.stub(proto, 'resetAndDestroy').callsFake(function (this: Resettable) {
        resetPorts.push(this.remotePort); // read before the handle goes
        return original.call(this);
      });
    });
    try {
      const towardTarget = () => resetPorts.filter((p) => p === target.localPort);
      server.setToxics([toxic({ type: 'timeout', attributes: { timeout: 100 } })]); // downstream: closes in 100 ms
      await advance(clock, 100);
      await advance(clock, CLOSE_GRACE_MS - 1);
      expect(towardTarget(), 'not before the grace').to.have.length(0);
      await advance(clock, 1);
      expect(towardTarget(), 'reset once the grace passed with bytes still owed').to.have.length(1);
    } finally {
      for (const spy of resets) spy.restore();
    }
  });

  it('timeout 0 removed: the connection closes (toxiproxy\'s Cleanup)', async () => {
    const held = holdingTarget(res);
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const { atClient, atTarget, target } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'timeout' })]);
    await advance(clock, 10_000);
    expect(atClient.ended).to.equal(false);
    server.setToxics([]);
    await until(() => atClient.ended && atTarget.ended, 'FIN both ways');
    target.end();
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]!.end).to.equal('toxic-closed');
  });

  it('slow_close: the target\'s FIN reaches the client exactly `delay` ms later, after its data', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)));
    const { target, atClient } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'slow_close', attributes: { delay: 300 } })]);
    target.end('bye');
    await until(() => atClient.text === 'bye', 'the data at once');
    await advance(clock, 299);
    expect(atClient.ended).to.equal(false);
    await clock.tickAsync(1);
    await until(() => atClient.ended, 'FIN at 300 ms');
  });

  it('reset_peer: both sides reset `timeout` ms after the first data; the log says toxic-reset', async () => {
    const held = holdingTarget(res);
    const { server, port, logs } = await start(tcp(await listen(held.server)));
    const { client, target, atTarget } = await relayed(res, port, held);
    const errors: (string | undefined)[] = [];
    for (const s of [client, target]) s.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code));
    server.setToxics([toxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 200 } })]);
    await advance(clock, 1000);
    expect(logs).to.have.length(0); // no data, no reset
    client.write('trigger');
    await until(() => server.stats().clientToTarget.bytes >= 8, 'trigger read');
    await advance(clock, 199);
    expect([logs.length, client.destroyed, target.destroyed]).to.deep.equal([0, false, false]);
    await clock.tickAsync(1);
    await until(() => logs.length === 1 && client.destroyed && target.destroyed, 'both sides gone');
    expect([logs[0]!.end, logs[0]!.error, atTarget.bytes]).to.deep.equal(['toxic-reset', 'reset_peer', 0]);
    expect(errors).to.deep.equal(['ECONNRESET', 'ECONNRESET']);
  });

  it('stall (until removed): the client is not read meanwhile; removed, it is', async () => {
    const held = holdingTarget(res);
    const { server, port } = await start(tcp(await listen(held.server)));
    const { client, atTarget } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'stall', stream: 'upstream' })]);
    const before = server.stats().clientToTarget.bytes;
    client.write('waiting');
    await advance(clock, 60_000);
    expect([server.stats().clientToTarget.bytes, atTarget.bytes]).to.deep.equal([before, 0]);
    server.setToxics([]);
    await until(() => atTarget.text === 'waiting', 'read once removed');
  });

  it('drop (message mode): whole messages dropped, counted as reason toxic in messagesDroppedByReason and sluice_messages_dropped_total', async () => {
    const held = holdingTarget(res);
    // Draws: the toxicity (0 < 1), then one per message: drop when < 0.5.
    const { server, port } = await start(tcp(await listen(held.server)), { messages: 'lines', random: scripted(0, 0.9, 0.1, 0.9, 0.1, 0.1, 0.9) });
    const { client, atTarget } = await relayed(res, port, held);
    server.setToxics([toxic({ type: 'drop', stream: 'upstream', attributes: { probability: 0.5 } })]);
    client.write('one\ntwo\nthr');
    client.write('ee\nfour\nfive\nsix\n');
    await until(() => atTarget.text.endsWith('six\n'), 'the last message');
    expect(atTarget.text).to.equal('one\nthree\nsix\n');
    expect(server.messagesDroppedByReason().toxic).to.equal(3);
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    expect(registry.render()).to.include('sluice_messages_dropped_total{reason="toxic"} 3');
    client.end();
    await until(() => atTarget.ended, 'FIN');
    held.sockets[0]!.end();
    await until(() => server.activeConnections === 0, 'the connection finished');
    expect(server.messagesDroppedByReason().toxic).to.equal(3); // kept once the connection is gone
  });

  it('a toxic the relay cannot carry is refused and changes nothing', async () => {
    const held = holdingTarget(res);
    const { server } = await start(tcp(await listen(held.server)));
    const latency = toxic({ type: 'latency' });
    server.setToxics([latency]);
    expect(() => server.setToxics([latency, toxic({ type: 'drop', stream: 'upstream' })])).to.throw(ToxicSpecError, /message mode/);
    expect(server.toxics).to.deep.equal([latency]);
  });
});
