import { expect } from 'chai';
import { ReceiveWindow, ReceiveWindowExceededError, SendWindow, StreamStateError, WindowOverflowError } from '../../../windowing/index.js';

const KiB = 1024;

describe('SendWindow', () => {
  it('starts with the spec 256 KiB of credit', () => {
    expect(new SendWindow(1).creditBytes).to.equal(256 * KiB);
  });

  const takes: [number, number, number, number][] = [
    // credit, wanted, minFrame, expected
    [100, 50, 10, 50],
    [100, 100, 10, 100],
    [100, 101, 10, 100],
    [9, 20, 10, 0],
    [10, 20, 10, 10],
    [9, 9, 10, 9],
    [0, 1, 1, 0],
    [0, 0, 1, 0],
  ];
  for (const [credit, wanted, min, want] of takes) {
    it(`credit ${credit}, wanting ${wanted}, min frame ${min}: takes ${want}`, () => {
      const w = new SendWindow(1);
      w.creditBytes = credit;
      expect(w.take(wanted, min)).to.equal(want);
      expect(w.creditBytes).to.equal(credit - want);
    });
  }

  it('accepts a grant up to exactly 2^32-1 and refuses one byte past it', () => {
    const w = new SendWindow(7);
    w.grant(0xffffffff - 256 * KiB);
    expect(w.creditBytes).to.equal(0xffffffff);
    let caught: unknown;
    try {
      w.grant(1);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(WindowOverflowError);
    expect(caught).to.include({ code: 'ERR_WINDOW_OVERFLOW', goAwayCode: 1, streamId: 7 });
    expect((caught as Error).message).to.equal('stream 7: window update of 1 on a window of 4294967295 exceeds 2^32-1');
    expect(w.creditBytes).to.equal(0xffffffff);
  });
});

describe('ReceiveWindow', () => {
  it('accepts a frame exactly the size of the credit and refuses one byte more', () => {
    const w = new ReceiveWindow(3, 256 * KiB);
    expect(() => w.reserve(256 * KiB + 1)).to.throw(ReceiveWindowExceededError, 'stream 3: data frame of 262145 bytes exceeds the receive window of 262144 bytes');
    w.reserve(256 * KiB);
    expect(w.creditBytes).to.equal(0);
    expect(() => w.reserve(1)).to.throw(ReceiveWindowExceededError);
  });

  it('grants nothing on receipt, only for consumed bytes, once half the window is owed', () => {
    const w = new ReceiveWindow(1, 256 * KiB);
    w.reserve(200 * KiB);
    w.deliver(200 * KiB);
    expect(w.owedBytes).to.equal(0);
    expect(w.shouldGrant).to.equal(false);
    w.consume(128 * KiB - 1);
    expect(w.shouldGrant).to.equal(false);
    w.consume(1);
    expect(w.shouldGrant).to.equal(true);
    expect(w.grant()).to.equal(128 * KiB);
    expect(w.creditBytes).to.equal(56 * KiB + 128 * KiB);
    expect(w.owedBytes).to.equal(0);
  });

  it('keeps credit + buffered + owed equal to the window', () => {
    const w = new ReceiveWindow(1, 256 * KiB);
    for (const [reserve, consume] of [[1000, 0], [5000, 3000], [0, 3000], [100000, 50000]]) {
      w.reserve(reserve);
      w.deliver(reserve);
      w.consume(consume);
      expect(w.creditBytes + w.bufferedBytes + w.owedBytes).to.equal(256 * KiB);
    }
  });

  it('refuses to consume more than was delivered, counting bytes still on the wire as undelivered', () => {
    const w = new ReceiveWindow(9, 256 * KiB);
    w.reserve(10);
    w.deliver(4);
    expect(() => w.consume(5)).to.throw(StreamStateError, 'stream 9: consumed 5 bytes but only 4 were delivered and not consumed');
    w.consume(4);
    expect(() => w.consume(-1)).to.throw(StreamStateError);
  });

  it('owes growth at once and absorbs a shrink before granting again', () => {
    const w = new ReceiveWindow(1, 256 * KiB);
    w.resize(512 * KiB);
    expect(w.grant()).to.equal(256 * KiB);
    w.reserve(512 * KiB);
    w.deliver(512 * KiB);
    w.consume(200 * KiB);
    w.resize(256 * KiB);
    expect(w.owedBytes).to.equal(256 * KiB - 312 * KiB);
    expect(w.shouldGrant).to.equal(false);
    expect(w.grant()).to.equal(0);
    w.consume(312 * KiB);
    expect(w.grant()).to.equal(256 * KiB);
  });

  it('a window larger than 256 KiB owes the difference from the start (granted with SYN/ACK)', () => {
    expect(new ReceiveWindow(1, 1024 * KiB).owedBytes).to.equal(768 * KiB);
  });
});
