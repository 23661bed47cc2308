import { expect } from 'chai';
import { wheelTickMs } from '../../../proxy/relay/relay.js';
import sinon from 'sinon';
import { createServer, type Socket } from 'node:net';
import { relay, type Relay, type RelayOptions, type RelayResult } from '../../../proxy/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../scenarios/harness/random.js';
import { closeError, connectTo, listen, nextConnection, readAll, readSlowly, Resources, until, writeAll } from '../../helpers/sockets.js';

/** client <-> [accepted | relay | dialled] <-> target, all on loopback. */
async function relayPair(res: Resources, options: RelayOptions = {}): Promise<{ client: Socket; target: Socket; relay: Relay; near: Socket }> {
  const front = res.server(createServer({ allowHalfOpen: true }));
  const back = res.server(createServer({ allowHalfOpen: true }));
  const [frontPort, backPort] = await Promise.all([listen(front), listen(back)]);
  const accepted = nextConnection(front);
  const client = res.socket(await connectTo(frontPort));
  const frontSide = await accepted;
  const targetAccepted = nextConnection(back);
  const dialled = res.socket(await connectTo(backPort));
  const target = await targetAccepted;
  return { client, target, relay: relay(frontSide, dialled, options), near: frontSide };
}

describe('relay (library)', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  for (const seed of [1, 2, 3]) {
    it(`moves random data both ways at once, intact, to slow random-chunk readers (seed ${seed})`, async () => {
      const { client, target, relay: r } = await relayPair(res, { windowBytes: 64 * 1024 });
      const up = randomBytes(3 * 1024 * 1024 + seed, seed);
      const down = randomBytes(2 * 1024 * 1024 + 7 * seed, seed + 100);
      const gotUp = readSlowly(target, seed);
      const gotDown = readSlowly(client, seed + 1);
      await Promise.all([writeAll(client, randomChunks(up, 100_000, seed)), writeAll(target, randomChunks(down, 70_000, seed + 2))]);
      expect(await gotUp).to.deep.equal({ bytes: up.length, sha256: sha256(up) });
      expect(await gotDown).to.deep.equal({ bytes: down.length, sha256: sha256(down) });
      const result = await r.done;
      expect(result.end).to.equal('closed');
      expect(result.clientToTarget.bytes).to.equal(up.length);
      expect(result.targetToClient.bytes).to.equal(down.length);
    });
  }

  it('keeps the bytes waiting for a stalled target within the window, then delivers them all', async () => {
    const windowBytes = 256 * 1024;
    const { client, target, relay: r, near } = await relayPair(res, { windowBytes });
    const data = randomBytes(32 * 1024 * 1024, 7);
    let peakQueued = 0;
    let maxChunk = 0;
    // Runs after the reader's own 'data' listener, so it sees what each read left queued.
    near.on('data', (chunk: Buffer) => {
      maxChunk = Math.max(maxChunk, chunk.length);
      peakQueued = Math.max(peakQueued, r.clientToTarget.heldBytes);
    });
    target.pause(); // the target reads nothing until the relay has had to hold the client back
    const writing = writeAll(client, [data]);
    await new Promise<void>((resolve) => {
      const check = () => (r.clientToTarget.isHeld ? resolve() : setImmediate(check));
      check();
    });
    const got = readSlowly(target, 9, 64 * 1024);
    await writing;
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    target.end();
    expect(r.clientToTarget.valve.ledger.pauses).to.be.greaterThan(0);
    expect(peakQueued).to.be.at.most(windowBytes + maxChunk);
    expect((await r.done).clientToTarget.pauses).to.be.greaterThan(0);
  });

  it('passes a half-close on: a client that ends its side still gets the reply', async () => {
    const { client, target, relay: r } = await relayPair(res);
    const request = readAll(target);
    client.end('question');
    const asked = await request; // the target saw the FIN
    expect(asked.bytes).to.equal('question'.length);
    const reply = readAll(client);
    target.end('answer after your FIN');
    expect((await reply).bytes).to.equal('answer after your FIN'.length);
    expect((await r.done).end).to.equal('closed');
  });

  it('passes a half-close on the other way: the target ends first and keeps receiving', async () => {
    const { client, target, relay: r } = await relayPair(res);
    const clientGot = readAll(client);
    target.end('bye');
    expect((await clientGot).bytes).to.equal(3);
    const targetGot = readAll(target);
    client.end('still talking');
    expect((await targetGot).bytes).to.equal('still talking'.length);
    expect((await r.done).end).to.equal('closed');
  });

  it('passes a target reset on to the client as a reset', async () => {
    const { client, target, relay: r } = await relayPair(res);
    const clientError = closeError(client);
    client.write('x');
    target.once('data', () => target.resetAndDestroy());
    expect((await clientError)?.code).to.equal('ECONNRESET');
    const result = await r.done;
    expect(result.end).to.equal('target-reset');
    expect(result.error).to.equal('ECONNRESET');
  });

  it('passes a client reset on to the target as a reset', async () => {
    const { client, target, relay: r } = await relayPair(res);
    const targetError = closeError(target);
    target.write('hello');
    client.once('data', () => client.resetAndDestroy());
    expect((await targetError)?.code).to.equal('ECONNRESET');
    expect((await r.done).end).to.equal('client-reset');
  });

  it('abort() resets both sides and reports aborted', async () => {
    const { client, target, relay: r } = await relayPair(res);
    const errors = Promise.all([closeError(client), closeError(target)]);
    r.abort();
    const [c, t] = await errors;
    expect([c?.code, t?.code]).to.deep.equal(['ECONNRESET', 'ECONNRESET']);
    expect((await r.done).end).to.equal('aborted');
  });

  it('tells onDone the result once both sides are closed; `done` asked for only afterwards settles with the same result', async () => {
    let told: RelayResult | null = null;
    const { client, target, relay: r } = await relayPair(res, { onDone: (result) => (told = result) });
    await finishBothWays(client, target);
    await until(() => told !== null, 'onDone');
    expect(told!.end).to.equal('closed');
    expect(await r.done).to.equal(told);
  });

  it('closes a connection left half-closed past the half-close timeout', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { client, target, relay: r } = await relayPair(res, { halfCloseTimeoutMs: 60_000, now: () => clock.now });
      const targetSaw = readAll(target);
      client.end('bye'); // the target never ends its half
      await targetSaw;
      await clock.tickAsync(59_999);
      expect(r.finished).to.equal(false);
      const clientSaw = readAll(client);
      // Due at 60 s on the shared wheel: handed out less than one of its ticks later.
      await clock.tickAsync(wheelTickMs(60_000));
      await clientSaw;
      expect((await r.done).end).to.equal('half-close-timeout');
    } finally {
      clock.restore();
    }
  });

  it('a connection that finishes both ways never meets the half-close timeout', async () => {
    const { client, target, relay: r } = await relayPair(res, { halfCloseTimeoutMs: 60_000 });
    await finishBothWays(client, target);
    expect((await r.done).end).to.equal('closed');
  });

  it('closes after the idle timeout when nothing moves, and reports idle-timeout', async () => {
    const { client, target, relay: r } = await relayPair(res, { idleTimeoutMs: 50 });
    const ends = Promise.all([readAll(client), readAll(target)]);
    expect((await r.done).end).to.equal('idle-timeout');
    expect((await ends).map((e) => e.bytes)).to.deep.equal([0, 0]);
  });
});

/** The client sends a request and FIN, the target its answer and FIN; resolves once each side has read the other's. */
async function finishBothWays(client: Socket, target: Socket): Promise<void> {
  const got = readAll(target);
  client.end('q');
  await got;
  const reply = readAll(client);
  target.end('a');
  await reply;
}
