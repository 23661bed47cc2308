import { expect } from 'chai';
import sinon from 'sinon';
import { createServer, type Socket } from 'node:net';
import { relay, type Relay, type RelayOptions } from '../../../proxy/index.js';
import { WheelTimers, wheelTickMs, type TimedEntry } from '../../../proxy/relay/relay.js';
import { connectTo, listen, nextConnection, readAll, Resources } from '../../helpers/sockets.js';

describe('WheelTimers (the shared timer of idle and half-close timeouts)', () => {
  let clock: sinon.SinonFakeTimers;
  const res = new Resources();
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    clock.restore();
    await res.closeAll();
  });

  const timed = (log: number[]): TimedEntry => ({ wheelTick: -1, onDue: () => log.push(clock.now) });

  it('the tick is 1/128 of the timeout, between 1 and 500 ms', () => {
    expect(wheelTickMs(10)).to.equal(1);
    expect(wheelTickMs(10_000)).to.equal(78);
    expect(wheelTickMs(3_600_000)).to.equal(500);
  });

  it('fires no earlier than its time and less than a tick later, however the entries interleave', async () => {
    const timers = new WheelTimers(100, () => clock.now);
    const fired: { dueMs: number; got: number[] }[] = [];
    for (const [at, delay] of [[0, 1000], [30, 250], [250, 0], [999, 1], [1500, 777]] as const) {
      await clock.tickAsync(at - clock.now);
      const got: number[] = [];
      fired.push({ dueMs: at + delay, got });
      timers.at(timed(got), at + delay);
    }
    await clock.tickAsync(5000);
    for (const f of fired) {
      expect(f.got, `due at ${f.dueMs}`).to.have.length(1);
      expect(f.got[0]!).to.be.at.least(f.dueMs).and.below(f.dueMs + 100);
    }
  });

  it('a late wake-up (a busy event loop) hands out everything due by then, on its clock', async () => {
    let clockMs = 0;
    const timers = new WheelTimers(100, () => clockMs);
    const got: number[] = [];
    timers.at({ wheelTick: -1, onDue: () => got.push(clockMs) }, 250);
    timers.at({ wheelTick: -1, onDue: () => got.push(clockMs) }, 2500);
    clockMs = 3000; // the loop was held up: the first wake-up comes when both are due
    await clock.tickAsync(100);
    expect(got).to.deep.equal([3000, 3000]);
    expect(clock.countTimers()).to.equal(0);
  });

  it('leaves no timer behind once nothing is on the wheel: fired or cancelled', async () => {
    const timers = new WheelTimers(10, () => clock.now);
    const got: number[] = [];
    const a = timed(got);
    const b = timed(got);
    timers.at(a, 50);
    timers.at(b, 5000);
    expect(clock.countTimers()).to.equal(1); // one timer, however many entries
    await clock.tickAsync(100);
    expect(got).to.have.length(1);
    timers.cancel(b);
    expect(clock.countTimers()).to.equal(0);
    expect(timers.size).to.equal(0);
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
    return { client, target: res.socket(await targetAccepted), relay: relay(frontSide, dialled, options) };
  }

  it('relays on one wheel share its one timer, and a relay that finishes leaves none', async () => {
    const now = (): number => clock.now;
    const timers = new WheelTimers(wheelTickMs(60_000), now);
    const pairs = await Promise.all([0, 1, 2].map(() => relayPair({ idleTimeoutMs: 60_000, halfCloseTimeoutMs: 60_000, timers, now })));
    expect(timers.size).to.equal(3);
    expect(clock.countTimers()).to.equal(1);
    for (const { client, target, relay: r } of pairs) {
      const toTarget = readAll(target);
      client.end('q'); // the first FIN: a half-close entry joins the idle one
      await toTarget;
      const toClient = readAll(client);
      target.end('a');
      await toClient;
      expect((await r.done).end).to.equal('closed');
    }
    expect(timers.size).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });
});
