import { expect } from 'chai';
import { HoldLedger } from '../../windowing/index.js';

describe('HoldLedger', () => {
  it('pauses on the first hold and resumes only when the last holder lets go', () => {
    const ledger = new HoldLedger<string>();
    expect(ledger.hold('window', 'window', 0)).to.equal('pause');
    expect(ledger.hold('rate', 'rate', 5)).to.equal(null);
    expect(ledger.reasons()).to.have.members(['window', 'rate']);
    expect(ledger.release('window', 10)).to.equal(null);
    expect(ledger.isHeld).to.equal(true);
    expect(ledger.release('rate', 30)).to.equal('resume');
    expect([ledger.isHeld, ledger.pauses, ledger.lastPauseMs, ledger.heldBackMs(100)]).to.deep.equal([false, 1, 30, 30]);
  });

  it('re-labels a holder that holds again, and ignores a release from a holder that holds nothing', () => {
    const ledger = new HoldLedger<string>();
    ledger.hold('spill', 'window', 0);
    ledger.hold('spill', 'disk', 1);
    expect(ledger.reasons()).to.deep.equal(['disk']);
    expect(ledger.release('nobody', 2)).to.equal(null);
    expect(ledger.isHeldBy('spill')).to.equal(true);
    expect(ledger.release('spill', 4)).to.equal('resume');
    expect(ledger.pauses).to.equal(1);
  });

  it('counts the hold in progress in the held time, and every hold once', () => {
    const ledger = new HoldLedger<string>();
    for (let i = 0; i < 10; i++) {
      ledger.hold('a', 'window', i * 100);
      ledger.release('a', i * 100 + 40);
    }
    ledger.hold('a', 'toxic', 2000);
    expect(ledger.currentPauseMs(2025)).to.equal(25);
    expect(ledger.heldBackMs(2025)).to.equal(10 * 40 + 25);
    expect(ledger.pauses).to.equal(11);
  });
});
