import { expect } from 'chai';
import { CloseGrace, type ClosingSide, type GraceDecision } from '../../windowing/close-grace.js';

const GRACE = 2000;
const side = (finOutAtMs: number | null, deliveredBytes: number, unflushedBytes: number): ClosingSide => ({ finOutAtMs, deliveredBytes, unflushedBytes });

describe('CloseGrace', () => {
  // Each row: looks at the side in turn (closing at 0, 100 bytes delivered by then), and the decisions.
  const cases: { title: string; looks: [number, ClosingSide][]; want: GraceDecision[] }[] = [
    { title: 'FIN out at once: closed exactly the grace later', looks: [[0, side(0, 100, 0)], [1999, side(0, 100, 0)], [2000, side(0, 100, 0)]], want: [{ action: 'wait', untilMs: 2000 }, { action: 'wait', untilMs: 2000 }, { action: 'close' }] },
    { title: 'the grace counts from the FIN, not from the close', looks: [[5000, side(4500, 900, 0)], [6500, side(4500, 900, 0)]], want: [{ action: 'wait', untilMs: 6500 }, { action: 'close' }] },
    { title: 'stages hold what is owed, nothing unflushed: never reset, looked at again a grace later', looks: [[0, side(null, 100, 0)], [2000, side(null, 100, 0)], [9000, side(null, 100, 0)]], want: [{ action: 'wait', untilMs: 2000 }, { action: 'wait', untilMs: 4000 }, { action: 'wait', untilMs: 11000 }] },
    { title: 'the peer takes nothing of what is unflushed: reset exactly the grace later', looks: [[0, side(null, 100, 5)], [1999, side(null, 100, 5)], [2000, side(null, 100, 5)]], want: [{ action: 'wait', untilMs: 2000 }, { action: 'wait', untilMs: 2000 }, { action: 'reset' }] },
    { title: 'the peer keeps taking: its clock starts again each time', looks: [[1500, side(null, 101, 5)], [3000, side(null, 101, 5)], [3499, side(null, 101, 5)], [3500, side(null, 101, 5)]], want: [{ action: 'wait', untilMs: 3500 }, { action: 'wait', untilMs: 3500 }, { action: 'wait', untilMs: 3500 }, { action: 'reset' }] },
  ];
  for (const { title, looks, want } of cases) {
    it(title, () => {
      const grace = new CloseGrace(GRACE, 0, 100);
      expect(looks.map(([now, s]) => grace.decide(s, now))).to.deep.equal(want);
    });
  }
});
