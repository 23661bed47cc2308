import { expect } from 'chai';
import { InvalidOptionError, resolveSessionOptions, type SessionOptions } from '../../../windowing/index.js';

describe('resolveSessionOptions', () => {
  it('fills the documented defaults', () => {
    expect(resolveSessionOptions({ role: 'dialer' })).to.deep.equal({
      role: 'dialer',
      initialWindowBytes: 262144,
      maxWindowBytes: 16777216,
      autoTune: true,
      maxStreams: 1000,
      acceptBacklog: 256,
      maxSendFrameBytes: 65536,
      minSendFrameBytes: 1024,
      maxQueuedControlReplies: 1000,
      maxOutstandingPings: 10,
      maxConsecutiveEmptyFrames: 1,
      windowUpdatesPerDataFrame: 10,
      resetBurst: 1000,
      resetsPerSecond: 33,
      windowBudget: null,
    });
  });

  const bad: [Record<string, unknown>, string][] = [
    [{ role: 'server' as unknown }, "role must be 'dialer' or 'acceptor', got server"],
    [{ initialWindowBytes: 262143 }, 'initialWindowBytes must be a whole number in 262144..16777216, got 262143'],
    [{ initialWindowBytes: 16777217 }, 'initialWindowBytes must be a whole number in 262144..16777216, got 16777217'],
    [{ maxWindowBytes: 2 ** 32 }, 'maxWindowBytes must be a whole number in 262144..4294967295, got 4294967296'],
    [{ maxWindowBytes: 1000 }, 'maxWindowBytes must be a whole number in 262144..4294967295, got 1000'],
    [{ maxStreams: 0 }, 'maxStreams must be a whole number in 1..4294967295, got 0'],
    [{ acceptBacklog: 1.5 }, 'acceptBacklog must be a whole number in 1..4294967295, got 1.5'],
    [{ minSendFrameBytes: 131073 }, 'minSendFrameBytes must be a whole number in 1..131072, got 131073'],
    [{ maxSendFrameBytes: 0 }, 'maxSendFrameBytes must be a whole number in 1..4294967295, got 0'],
    [{ maxConsecutiveEmptyFrames: -1 }, 'maxConsecutiveEmptyFrames must be a whole number in 0..4294967295, got -1'],
    [{ autoTune: 'yes' as unknown as boolean }, 'autoTune must be a boolean, got yes'],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)}: "${message}"`, () => {
      let caught: unknown;
      try {
        resolveSessionOptions({ role: 'dialer', ...options } as SessionOptions);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(InvalidOptionError);
      expect((caught as InvalidOptionError).code).to.equal('ERR_INVALID_OPTION');
      expect((caught as Error).message).to.equal(message);
    });
  }

  it('accepts every bound exactly', () => {
    const limits = resolveSessionOptions({ role: 'acceptor', initialWindowBytes: 0xffffffff, maxWindowBytes: 0xffffffff, minSendFrameBytes: 131072, maxStreams: 1 });
    expect(limits).to.include({ initialWindowBytes: 0xffffffff, maxWindowBytes: 0xffffffff, minSendFrameBytes: 131072, maxStreams: 1 });
  });
});
