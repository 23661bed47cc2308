import { expect } from 'chai';
import { Endpoint, planStreams, type StreamPlan } from '../helpers/pair.js';
import { SeededRandom } from '../helpers/seeded-random.js';

interface Outcome {
  dialer: Endpoint;
  acceptor: Endpoint;
  plans: Map<number, StreamPlan>;
  steps: number;
}

function run(seed: number, streamCount: number, autoTune: boolean, maxBytes = 600_000, openWithinMs = 200): Outcome {
  const rng = new SeededRandom(seed);
  const plans = new Map<number, StreamPlan>();
  const dialer = new Endpoint({ role: 'dialer', autoTune }, rng, plans);
  const acceptor = new Endpoint({ role: 'acceptor', autoTune }, rng, plans);
  const pending = planStreams(rng, streamCount, maxBytes, openWithinMs).sort((a, b) => a.openAtMs - b.openAtMs);
  let step = 0;
  for (; step < 20_000; step++) {
    const nowMs = step;
    while (pending.length > 0 && pending[0].openAtMs <= nowMs && dialer.open(pending[0])) pending.shift();
    if (step % 25 === 0) {
      dialer.session.ping(nowMs);
      acceptor.session.ping(nowMs);
    }
    dialer.work(nowMs);
    acceptor.work(nowMs);
    dialer.deliverTo(acceptor, rng.int(0, 400_000), nowMs);
    acceptor.deliverTo(dialer, rng.int(0, 400_000), nowMs);
    const idle =
      pending.length === 0 &&
      dialer.streams.size === 0 &&
      acceptor.streams.size === 0 &&
      dialer.wireBytes === 0 &&
      acceptor.wireBytes === 0;
    if (idle) break;
  }
  return { dialer, acceptor, plans, steps: step };
}

function check({ dialer, acceptor, plans, steps }: Outcome, streamCount: number): void {
  expect(steps, 'finished before the step limit').to.be.below(20_000);
  expect(dialer.errors).to.deep.equal([]);
  expect(acceptor.errors).to.deep.equal([]);
  expect(dialer.monitor.violations).to.deep.equal([]);
  expect(acceptor.monitor.violations).to.deep.equal([]);
  expect(dialer.maxBufferedOverWindow).to.be.at.most(0);
  expect(acceptor.maxBufferedOverWindow).to.be.at.most(0);
  expect(dialer.session.streamCount, 'dialer streams left open').to.equal(0);
  expect(acceptor.session.streamCount, 'acceptor streams left open').to.equal(0);
  expect(plans.size).to.equal(streamCount);
  const byId = (ep: Endpoint) => new Map(ep.finished.map((a) => [a.id, a]));
  const resets = [...dialer.finished, ...acceptor.finished].filter((app) => app.reset).length;
  expect(resets, 'some streams were reset on purpose').to.be.above(0);
  const d = byId(dialer);
  const a = byId(acceptor);
  for (const [id, plan] of plans) {
    const atDialer = d.get(id);
    const atAcceptor = a.get(id);
    expect(atDialer, `stream ${id} finished at the dialer`).to.not.equal(undefined);
    expect(atAcceptor, `stream ${id} finished at the acceptor`).to.not.equal(undefined);
    const toAcceptor = Buffer.concat(atAcceptor!.received);
    const toDialer = Buffer.concat(atDialer!.received);
    if (atDialer!.reset || atAcceptor!.reset) {
      expect(plan.dialerBytes.subarray(0, toAcceptor.length).equals(toAcceptor), `stream ${id}: a prefix reached the acceptor`).to.equal(true);
      expect(plan.acceptorBytes.subarray(0, toDialer.length).equals(toDialer), `stream ${id}: a prefix reached the dialer`).to.equal(true);
    } else {
      expect(toAcceptor.equals(plan.dialerBytes), `stream ${id}: every byte reached the acceptor`).to.equal(true);
      expect(toDialer.equals(plan.acceptorBytes), `stream ${id}: every byte reached the dialer`).to.equal(true);
    }
  }
}

describe('two sessions back to back (in memory)', () => {
  for (const seed of [1, 2, 3, 7, 42, 1234, 99991, 20240229]) {
    it(`seed=${seed}: 24 streams, random sizes, slow consumers, resets: all bytes delivered, no window exceeded, all closed`, () => {
      check(run(seed, 24, true), 24);
    });
  }

  it('seed=5 without auto-tuning: same guarantees', () => {
    check(run(5, 24, false), 24);
  });

  it('seed=11: 300 streams opened at once, more than the accept backlog: open() waits for ACKs, all finish', () => {
    const outcome = run(11, 300, true, 20_000, 0);
    check(outcome, 300);
    expect(outcome.dialer.refusals.get('backlog-full')).to.be.above(0);
  });
});
