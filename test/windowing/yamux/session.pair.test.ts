import { expect } from 'chai';
import fc from 'fast-check';
import { Endpoint, planStreams, type StreamPlan } from '../../helpers/pair.js';
import { SeededRandom } from '../../helpers/seeded-random.js';

interface Outcome {
  dialer: Endpoint;
  acceptor: Endpoint;
  plans: Map<number, StreamPlan>;
  steps: number;
}

function run(seed: number, streamCount: number, autoTune: boolean, maxBytes = 600_000, openWithinMs = 200, corruptRate = 0): Outcome {
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
    dialer.deliverTo(acceptor, rng.int(0, 400_000), nowMs, corruptRate);
    acceptor.deliverTo(dialer, rng.int(0, 400_000), nowMs, corruptRate);
    const over = dialer.session.isTerminated && acceptor.session.isTerminated;
    const idle =
      over ||
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

describe('two sessions back to back over a link that corrupts bytes (fast-check)', () => {
  it('receive() never throws; each side stops at its first error, a protocol error (never an internal one); an untouched run keeps every guarantee', () => {
    let corrupted = 0;
    let failed = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 1, max: 8 }),
        fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 0.5, noNaN: true })),
        (seed, streamCount, corruptRate) => {
          const outcome = run(seed, streamCount, true, 60_000, 50, corruptRate);
          const { dialer, acceptor } = outcome;
          for (const ep of [dialer, acceptor]) {
            expect(ep.errors.length, ep.errors.join('; ')).to.be.at.most(1);
            for (const e of ep.errors) expect(e).to.not.match(/^ERR_INTERNAL/);
            if (ep.errors.length === 1) expect(ep.session.isTerminated).to.equal(true);
          }
          if (dialer.corrupted + acceptor.corrupted > 0) {
            corrupted++;
            if (dialer.errors.length + acceptor.errors.length > 0) failed++;
            return;
          }
          expect(outcome.steps, 'finished before the step limit').to.be.below(20_000);
          expect([...dialer.errors, ...acceptor.errors]).to.deep.equal([]);
          expect([...dialer.monitor.violations, ...acceptor.monitor.violations]).to.deep.equal([]);
          expect(dialer.session.streamCount + acceptor.session.streamCount).to.equal(0);
        },
      ),
      { numRuns: Number(process.env.SLUICE_FUZZ_RUNS ?? 150) },
    );
    expect(corrupted, 'runs with corrupted bytes').to.be.above(20);
    expect(failed, 'runs that ended with a protocol error').to.be.above(5);
  });
});
