import { expect } from 'chai';
import fc from 'fast-check';
import { DROP_REASONS, MessageQueue, OVERFLOW_POLICIES, type OfferDecision, type OverflowPolicy } from '../../windowing/index.js';

/** A message in these tests: an id (its arrival order) and a size. */
interface Msg {
  id: number;
  length: number;
}

let nextId = 0;
const msg = (length: number): Msg => ({ id: nextId++, length });

/** Checks the ledger every queue must balance: each offered message is in exactly one place. */
function expectBalanced(q: MessageQueue<Msg>): void {
  expect(q.offered).to.equal(q.forwarded + q.droppedTotal + q.queuedMessages + q.backlogMessages);
}

describe('MessageQueue', () => {
  it('pins the policy and drop-reason names (CLI values and metric labels)', () => {
    expect(OVERFLOW_POLICIES).to.deep.equal(['block', 'drop-newest', 'drop-oldest', 'spill']);
    expect(DROP_REASONS).to.deep.equal(['drop-newest', 'drop-oldest', 'too-large', 'incomplete', 'closed', 'toxic']);
  });

  describe('decisions, step by step (window 10, low 5)', () => {
    type Step =
      | ['offer', number, OfferDecision['action'], { evicted?: number; disk?: boolean }?]
      | ['take', number | null]
      | ['flush', number]
      | ['takeSpilled', number];
    const cases: { policy: OverflowPolicy; title: string; steps: Step[]; want: { queued: number; inFlight: number; backlog?: number; dropped?: Partial<Record<string, number>> } }[] = [
      {
        policy: 'block',
        title: 'fills to the window exactly, then blocks',
        steps: [['offer', 4, 'enqueue'], ['offer', 6, 'enqueue'], ['offer', 1, 'block']],
        want: { queued: 10, inFlight: 0 },
      },
      {
        policy: 'block',
        title: 'after a block, waits for the low mark even when the message would fit (hysteresis)',
        steps: [
          ['offer', 4, 'enqueue'], ['offer', 4, 'enqueue'], ['offer', 4, 'block'],
          ['take', 4], ['flush', 2], ['offer', 2, 'block'], // used 6 > low 5
          ['flush', 1], ['offer', 2, 'enqueue'], // used 5 <= low: accepted
        ],
        want: { queued: 6, inFlight: 1 },
      },
      {
        policy: 'block',
        title: 'bytes handed to the sink count until flushed; an empty queue still takes one message',
        steps: [['offer', 8, 'enqueue'], ['take', 8], ['offer', 3, 'enqueue'], ['offer', 1, 'block'], ['flush', 5], ['offer', 1, 'block'], ['flush', 1], ['offer', 1, 'enqueue']],
        want: { queued: 4, inFlight: 2 },
      },
      {
        policy: 'drop-newest',
        title: 'discards arrivals that do not fit, takes ones that do',
        steps: [['offer', 4, 'enqueue'], ['offer', 4, 'enqueue'], ['offer', 4, 'drop'], ['offer', 2, 'enqueue'], ['offer', 1, 'drop']],
        want: { queued: 10, inFlight: 0, dropped: { 'drop-newest': 2 } },
      },
      {
        policy: 'drop-newest',
        title: 'never blocks, takes again once the sink flushed',
        steps: [['offer', 10, 'enqueue'], ['offer', 1, 'drop'], ['take', 10], ['offer', 1, 'enqueue'], ['offer', 1, 'drop'], ['flush', 10], ['offer', 1, 'enqueue']],
        want: { queued: 2, inFlight: 0, dropped: { 'drop-newest': 2 } },
      },
      {
        policy: 'drop-oldest',
        title: 'evicts just enough of the oldest to fit the new one',
        steps: [['offer', 4, 'enqueue'], ['offer', 4, 'enqueue'], ['offer', 2, 'enqueue'], ['offer', 3, 'enqueue', { evicted: 1 }], ['offer', 8, 'enqueue', { evicted: 3 }]],
        want: { queued: 8, inFlight: 0, dropped: { 'drop-oldest': 4 } },
      },
      {
        policy: 'drop-oldest',
        title: 'cannot evict what is in flight: the newest is still admitted alone',
        steps: [['offer', 8, 'enqueue'], ['take', 8], ['offer', 4, 'enqueue'], ['offer', 1, 'enqueue', { evicted: 1 }]],
        want: { queued: 1, inFlight: 8, dropped: { 'drop-oldest': 1 } },
      },
      {
        policy: 'spill',
        title: 'fills memory, then spills, and keeps spilling while a backlog exists even when memory has room',
        steps: [
          ['offer', 6, 'enqueue'], ['offer', 6, 'spill', { disk: true }], ['offer', 1, 'spill', { disk: true }],
          ['take', 6], ['flush', 6], ['offer', 1, 'spill', { disk: true }],
          ['takeSpilled', 6], ['takeSpilled', 1], ['takeSpilled', 1], ['offer', 1, 'enqueue', { disk: true }],
        ],
        want: { queued: 1, inFlight: 8, backlog: 0 },
      },
      {
        policy: 'spill',
        title: 'falls back to block when the disk has no room, and resumes spilling when it has',
        steps: [['offer', 10, 'enqueue'], ['offer', 1, 'block', { disk: false }], ['offer', 1, 'spill', { disk: true }], ['offer', 1, 'block', { disk: false }]],
        want: { queued: 10, inFlight: 0, backlog: 1 },
      },
      {
        policy: 'spill',
        title: 'with a backlog and a full disk, blocks rather than put a newer message in memory ahead of it',
        steps: [['offer', 10, 'enqueue'], ['offer', 2, 'spill', { disk: true }], ['take', 10], ['flush', 10], ['offer', 1, 'block', { disk: false }]],
        want: { queued: 0, inFlight: 0, backlog: 1 },
      },
    ];
    for (const c of cases) {
      const summary = c.steps.map((s) => (s[0] === 'offer' ? `offer ${s[1]}${s[3]?.disk === false ? ' (disk full)' : ''} -> ${s[2]}` : `${s[0]} ${s[1]}`)).join(', ');
      it(`${c.policy}: ${c.title} [${summary}]`, () => {
        const q = new MessageQueue<Msg>({ policy: c.policy, windowBytes: 10 });
        for (const step of c.steps) {
          switch (step[0]) {
            case 'offer': {
              const d = q.offer(msg(step[1]), step[3]?.disk ?? false);
              expect(d.action, summary).to.equal(step[2]);
              if (d.action === 'enqueue') expect(d.evicted).to.equal(step[3]?.evicted ?? 0);
              break;
            }
            case 'take':
              expect(q.take()?.length ?? null).to.equal(step[1]);
              break;
            case 'flush':
              q.sinkFlushed(step[1]);
              break;
            case 'takeSpilled':
              q.takeSpilled(step[1]);
              break;
          }
          expectBalanced(q);
        }
        expect(q.queuedBytes).to.equal(c.want.queued);
        expect(q.inFlightBytes).to.equal(c.want.inFlight);
        expect(q.backlogMessages).to.equal(c.want.backlog ?? 0);
        for (const [reason, n] of Object.entries(c.want.dropped ?? {})) expect(q.dropped[reason as 'closed']).to.equal(n);
      });
    }
  });

  describe('a message larger than the whole window (25 bytes, window 10)', () => {
    for (const policy of OVERFLOW_POLICIES) {
      it(`${policy}: is admitted alone when nothing else is queued`, () => {
        const q = new MessageQueue<Msg>({ policy, windowBytes: 10 });
        expect(q.offer(msg(25)).action).to.equal('enqueue');
        expect(q.usedBytes).to.equal(25);
        expect(q.roomBytes).to.equal(0);
      });
    }
    const behind: [OverflowPolicy, string, number][] = [
      ['block', 'block', 0],
      ['drop-newest', 'drop', 0],
      ['drop-oldest', 'enqueue', 2],
      ['spill', 'spill', 0],
    ];
    for (const [policy, action, evicted] of behind) {
      it(`${policy}: behind other queued messages, it is answered ${action}${evicted ? ` (evicting all ${evicted})` : ''}`, () => {
        const q = new MessageQueue<Msg>({ policy, windowBytes: 10 });
        q.offer(msg(3));
        q.offer(msg(3));
        const d = q.offer(msg(25), true);
        expect(d.action).to.equal(action);
        if (d.action === 'enqueue') expect(d.evicted).to.equal(evicted);
      });
    }
    it('block: admitted once the queue has emptied, even while the sink still holds bytes', () => {
      const q = new MessageQueue<Msg>({ policy: 'block', windowBytes: 10 });
      q.offer(msg(6));
      expect(q.offer(msg(25)).action).to.equal('block');
      q.take();
      expect(q.shouldRetry).to.equal(false); // 6 in flight > low 5
      q.sinkFlushed(1);
      expect(q.shouldRetry).to.equal(true);
      expect(q.offer(msg(25)).action).to.equal('enqueue');
      expect(q.usedBytes).to.equal(30);
    });
  });

  it('takes in arrival order and counts forwarded messages and bytes', () => {
    const q = new MessageQueue<Msg>({ policy: 'block', windowBytes: 100 });
    const sent = [msg(1), msg(2), msg(3)];
    for (const m of sent) q.offer(m);
    expect([q.take(), q.take(), q.take(), q.take()]).to.deep.equal([...sent, undefined]);
    expect(q.forwarded).to.equal(3);
    expect(q.forwardedBytes).to.equal(6);
    expect(q.inFlightBytes).to.equal(6);
    q.sinkFlushed(100);
    expect(q.inFlightBytes).to.equal(0);
  });

  it('takeSpilled refuses to run ahead of memory or past the backlog', () => {
    const q = new MessageQueue<Msg>({ policy: 'spill', windowBytes: 10 });
    expect(() => q.takeSpilled(1)).to.throw(RangeError, /nothing is spilled/);
    q.offer(msg(10));
    q.offer(msg(4), true);
    expect(() => q.takeSpilled(4)).to.throw(RangeError, /messages queued in memory go first/);
    q.take();
    expect(() => q.takeSpilled(5)).to.throw(RangeError, /size must be a whole number from 0 to 4, got 5/);
    q.takeSpilled(4);
    expect(q.spilled).to.equal(1);
    expect(q.spilledBytes).to.equal(4);
    expect(q.backlogBytes).to.equal(0);
  });

  it('counts drops that never reached the queue, and everything left when the connection closes', () => {
    const q = new MessageQueue<Msg>({ policy: 'spill', windowBytes: 10 });
    q.recordDrop('too-large');
    q.recordDrop('incomplete', 2);
    q.offer(msg(6));
    q.offer(msg(6), true);
    q.offer(msg(6), true);
    expectBalanced(q);
    expect(q.close()).to.deep.equal({ messages: 3, bytes: 18 });
    expect(q.dropped).to.deep.equal({ 'drop-newest': 0, 'drop-oldest': 0, 'too-large': 1, incomplete: 2, closed: 3, toxic: 0 });
    expect(q.offered).to.equal(6);
    expect(q.queuedMessages + q.backlogMessages + q.queuedBytes).to.equal(0);
    expectBalanced(q);
  });

  it('keeps its array small while a long stream passes through (head compaction)', () => {
    const q = new MessageQueue<Msg>({ policy: 'drop-oldest', windowBytes: 1000 });
    for (let i = 0; i < 100_000; i++) {
      q.offer(msg(1));
      if (i % 3 === 0) q.take();
      q.sinkFlushed(q.inFlightBytes);
    }
    expect(q.queuedMessages).to.equal(999); // the last round took one
    expect((q as unknown as { items: unknown[] }).items.length).to.be.below(3000);
    expectBalanced(q);
  });

  describe('resize (the window a memory budget shrinks and grows)', () => {
    for (const policy of ['drop-newest', 'drop-oldest'] as const) {
      it(`${policy}: offers after a shrink are decided against the new window; what is queued stays`, () => {
        const q = new MessageQueue<Msg>({ policy, windowBytes: 100 });
        for (let i = 0; i < 5; i++) expect(q.offer(msg(10)).action).to.equal('enqueue');
        q.resize(40);
        expect(q.queuedBytes, 'nothing discarded by the shrink itself').to.equal(50);
        const decision = q.offer(msg(10));
        if (policy === 'drop-newest') expect(decision.action).to.equal('drop');
        else expect(decision).to.deep.equal({ action: 'enqueue', evicted: 2 });
        expect(q.usedBytes).to.equal(policy === 'drop-newest' ? 50 : 40);
        q.resize(100);
        expect(q.offer(msg(10)).action).to.equal('enqueue');
        expectBalanced(q);
      });
    }

    const lows: [string, { windowBytes: number; lowBytes?: number }, number, number][] = [
      ['half the window by default', { windowBytes: 100 }, 40, 20],
      ['the one given, while below the window', { windowBytes: 100, lowBytes: 10 }, 40, 10],
      ['the one given, kept below a smaller window', { windowBytes: 100, lowBytes: 60 }, 40, 39],
      ['0 at a window of 1', { windowBytes: 100 }, 1, 0],
    ];
    for (const [title, options, windowBytes, lowBytes] of lows) {
      it(`the low mark follows: ${title} (window ${options.windowBytes} -> ${windowBytes}: low ${lowBytes})`, () => {
        const q = new MessageQueue<Msg>({ policy: 'block', ...options });
        q.resize(windowBytes);
        expect([q.windowBytes, q.lowBytes]).to.deep.equal([windowBytes, lowBytes]);
      });
    }

    it('block: a blocked queue is offered again once memory falls to the low mark of the window now', () => {
      const q = new MessageQueue<Msg>({ policy: 'block', windowBytes: 100 });
      q.offer(msg(90));
      expect(q.offer(msg(20)).action).to.equal('block');
      q.resize(40);
      q.take();
      q.sinkFlushed(70); // 20 in flight: at the new low mark
      expect(q.shouldRetry).to.equal(true);
      expect(q.offer(msg(20)).action).to.equal('enqueue');
    });

    for (const bytes of [0, 1.5, -1]) {
      it(`rejects a window of ${bytes}`, () => {
        const q = new MessageQueue<Msg>({ policy: 'block', windowBytes: 10 });
        expect(() => q.resize(bytes)).to.throw(RangeError, `windowBytes must be a whole number >= 1, got ${bytes}`);
      });
    }
  });

  const bad: [object, RegExp][] = [
    [{ policy: 'lossy', windowBytes: 10 }, /policy must be one of block, drop-newest, drop-oldest, spill, got lossy/],
    [{ policy: 'block', windowBytes: 0 }, /windowBytes must be a whole number >= 1, got 0/],
    [{ policy: 'block', windowBytes: 10, lowBytes: 10 }, /lowBytes .* below windowBytes \(10\), got 10/],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)} naming the option`, () => {
      expect(() => new MessageQueue(options as never)).to.throw(RangeError, message);
    });
  }

  describe('properties (a model producer and sink drive the queue at random)', () => {
    type Op =
      | { op: 'arrive'; size: number; disk: boolean }
      | { op: 'take' }
      | { op: 'takeSpilled' }
      | { op: 'flush'; bytes: number }
      | { op: 'retry'; disk: boolean };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ op: fc.constant('arrive' as const), size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 300 })), disk: fc.boolean() }) },
      { weight: 2, arbitrary: fc.constant({ op: 'take' as const }) },
      { weight: 2, arbitrary: fc.constant({ op: 'takeSpilled' as const }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('flush' as const), bytes: fc.integer({ min: 0, max: 200 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('retry' as const), disk: fc.boolean() }) },
    );

    for (const policy of OVERFLOW_POLICIES) {
      it(`${policy}: delivered + dropped = sent, delivery keeps arrival order, the window holds except for one lone message (fast-check seed 7)`, () => {
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 200 }), fc.array(opArb, { maxLength: 300 }), (windowBytes, ops) => {
            const q = new MessageQueue<Msg>({ policy, windowBytes });
            const sent: Msg[] = [];
            const held: Msg[] = []; // what the producer side holds after a block (the source is paused)
            const onDisk: Msg[] = [];
            const delivered: Msg[] = [];
            let id = 0;
            const tryOffer = (m: Msg, disk: boolean): boolean => {
              const before = q.queuedMessages;
              const d = q.offer(m, disk);
              if (d.action === 'block') return false;
              if (d.action === 'spill') onDisk.push(m);
              if (d.action === 'enqueue') {
                // The window bound, or the documented exception: admitted into an empty queue.
                const lone = before - d.evicted === 0 && q.queuedMessages === 1;
                expect(q.usedBytes <= windowBytes || lone, `used ${q.usedBytes} > window ${windowBytes}`).to.equal(true);
              }
              if (policy === 'block' || policy === 'spill') expect(d.action).not.to.equal('drop');
              return true;
            };
            const retry = (disk: boolean) => {
              while (held.length > 0 && q.shouldRetry && tryOffer(held[0]!, disk)) held.shift();
            };
            const step = (o: Op) => {
              switch (o.op) {
                case 'arrive': {
                  const m = { id: id++, length: o.size };
                  sent.push(m);
                  if (held.length > 0 || !tryOffer(m, o.disk)) held.push(m);
                  break;
                }
                case 'take': {
                  const m = q.take();
                  if (m) delivered.push(m);
                  break;
                }
                case 'takeSpilled':
                  if (q.queuedMessages === 0 && onDisk.length > 0 && (q.roomBytes >= onDisk[0]!.length || q.usedBytes === 0)) {
                    const m = onDisk.shift()!;
                    q.takeSpilled(m.length);
                    delivered.push(m);
                  }
                  break;
                case 'flush':
                  q.sinkFlushed(Math.min(o.bytes, q.inFlightBytes));
                  break;
                case 'retry':
                  retry(o.disk);
                  break;
              }
              expect(q.offered + held.length).to.equal(sent.length);
              expect(q.backlogMessages).to.equal(onDisk.length);
              expectBalanced(q);
            };
            ops.forEach(step);
            // The target catches up: everything still held, queued or spilled comes out.
            for (let guard = 0; held.length + q.queuedMessages + onDisk.length > 0; guard++) {
              expect(guard).to.be.below(10_000);
              step({ op: 'flush', bytes: q.inFlightBytes });
              step({ op: 'take' });
              step({ op: 'flush', bytes: q.inFlightBytes });
              step({ op: 'takeSpilled' });
              step({ op: 'flush', bytes: q.inFlightBytes });
              step({ op: 'retry', disk: true });
            }
            expect(delivered.length + q.droppedTotal).to.equal(sent.length);
            for (let i = 1; i < delivered.length; i++) expect(delivered[i]!.id).to.be.above(delivered[i - 1]!.id);
            if (policy === 'block' || policy === 'spill') expect(delivered.map((m) => m.id)).to.deep.equal(sent.map((m) => m.id));
            if (policy === 'drop-oldest' && sent.length > 0) expect(delivered[delivered.length - 1]!.id).to.equal(sent.length - 1);
          }),
          { seed: 7, numRuns: 400 },
        );
      });
    }
  });
});
