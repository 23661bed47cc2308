import { expect } from 'chai';
import sinon from 'sinon';
import { createServer, type Socket } from 'node:net';
import { relay, type Relay, type RelayOptions } from '../../../proxy/index.js';
import { CLOSE_GRACE_MS, wheelTickMs } from '../../../proxy/relay/relay.js';
import { connectTo, listen, nextConnection, Resources } from '../../helpers/sockets.js';

/**
 * How long a quiet connection can live, on a fake clock: the idle check looks at a progress counter
 * once a period, so a connection whose last byte came just after a check is closed two periods after
 * it (not one), the check handed out less than a tick of the shared timer wheel late (a tick is
 * 1/128 of the timeout, at most 500 ms), and what does not close on the FINs is destroyed
 * CLOSE_GRACE_MS later: at most 2 x idle + 1 tick + grace. README states this bound; the soak
 * waits that long (plus slack).
 */
describe('relay: worst-case lifetime of a quiet connection', () => {
  const res = new Resources();
  let clock: sinon.SinonFakeTimers | null = null;
  afterEach(async () => {
    clock?.restore();
    clock = null;
    await res.closeAll();
  });

  async function relayPair(options: RelayOptions): Promise<{ client: Socket; target: Socket; relay: Relay }> {
    const front = res.server(createServer({ allowHalfOpen: true }));
    const back = res.server(createServer({ allowHalfOpen: true }));
    const [frontPort, backPort] = await Promise.all([listen(front), listen(back)]);
    const accepted = nextConnection(front);
    const client = res.socket(await connectTo(frontPort));
    const frontSide = await accepted;
    const targetAccepted = nextConnection(back);
    const dialled = res.socket(await connectTo(backPort));
    const target = await targetAccepted;
    return { client, target, relay: relay(frontSide, dialled, options) };
  }

  /** Advances the fake clock, giving real socket I/O a few turns after. */
  async function advance(ms: number): Promise<void> {
    await clock!.tickAsync(ms);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }

  it('a byte just after the start: FIN both ways two periods later, destroyed after the grace', async () => {
    const idle = 10_000;
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, target, relay: r } = await relayPair({ idleTimeoutMs: idle, now: () => clock!.now });
    // Peers that never answer a FIN (allowHalfOpen, never end): only the grace timer ends it.
    const ends: string[] = [];
    client.on('end', () => ends.push('client')).resume();
    target.on('end', () => ends.push('target')).resume();
    await advance(1);
    client.write('x'); // the last byte, just after the relay started (and just after a check)
    await advance(0);
    await advance(idle - 1); // first check at `idle`: progress since the start, so it re-arms
    await advance(idle - 2);
    expect(ends, 'nothing closed before two periods').to.deep.equal([]);
    // The second check, due at 2 x idle and handed out less than a tick later: no progress, close: FIN both ways.
    const tick = wheelTickMs(idle);
    let closedAt = 2 * idle - 2; // the fake clock now
    for (; ends.length < 2 && closedAt < 2 * idle + tick; closedAt++) await advance(1);
    for (let i = 0; i < 20 && ends.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(ends.sort()).to.deep.equal(['client', 'target']);
    expect(closedAt, 'closed no earlier than two periods').to.be.at.least(2 * idle);
    expect(r.finished).to.equal(false);
    await advance(CLOSE_GRACE_MS - 1);
    expect(r.finished, 'still there just before the grace ends').to.equal(false);
    await advance(1);
    const result = await r.done;
    expect(result.end).to.equal('idle-timeout');
  });
});
