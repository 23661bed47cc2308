/**
 * Window auto-tuning on a live link (TCP on 127.0.0.1): a receiver in the sidecars' 'manual'
 * credit mode whose consumer drains fast, then slowly, then stalls. The receiver's clock is the
 * test's, so "fast" and "slow" are exact; what the stalled stream holds is read from the session's
 * own accounting (the bytes it buffers and the credit the peer still has), not from RSS.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { TunnelSession, TunnelStream } from '../../../proxy/index.js';
import { linkPair } from '../../helpers/duplex-pair.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const INITIAL = 256 * KiB;
const MAX = 4 * MiB;

describe('TunnelSession window auto-tuning, live', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a consumer that drains fast, then slowly, then stalls holds no more than the shrunk window, not the grown one', async () => {
    const link = await linkPair('tcp');
    let t = 0;
    let phase: 'fast' | 'slow' | 'stall' = 'fast';
    // Fast: no time passes between window updates. Slow: a second passes at every look at the clock.
    const now = (): number => (phase === 'slow' ? (t += 1000) : t);
    const sender = new TunnelSession(link.dialer, { role: 'dialer', keepaliveIntervalMs: 0 });
    const receiver = new TunnelSession(link.acceptor, { role: 'acceptor', keepaliveIntervalMs: 0, credit: 'manual', maxWindowBytes: MAX, now });
    cleanups.push(async () => {
      sender.destroy();
      receiver.destroy();
      await link.close();
    });

    // The session's own two pings come back at t = 0 (a round trip of 0 leaves tuning off); one
    // more answered 10 ms later gives it a round trip to judge by.
    let answered = 0;
    receiver.on('rtt', () => answered++);
    while (answered < 2) await once(receiver, 'rtt');
    const ping = receiver.ping();
    t = 10;
    await ping;
    expect(receiver.rttMs).to.be.above(0);

    const arrived = once(receiver, 'stream');
    const out = sender.open();
    const source = Buffer.alloc(256 * KiB, 7);
    let writing = true;
    void (async () => {
      while (writing && !out.destroyed) if (!out.write(source)) await once(out, 'drain');
    })().catch(() => {});
    cleanups.unshift(() => (writing = false));
    const [stream] = (await arrived) as [TunnelStream];

    let slowFrom = 0;
    let largestWindow = 0;
    const stalled = new Promise<void>((resolve) => {
      const check = (): void => {
        // Stalled for good once the sender has used every byte of credit it was given.
        if (phase === 'stall' && stream.windows()!.recvCreditBytes === 0) resolve();
      };
      stream.on('data', (chunk: Buffer) => {
        largestWindow = Math.max(largestWindow, stream.windows()!.recvWindowBytes);
        if (phase === 'stall') return check();
        stream.acknowledge(chunk.length);
        const window = stream.windows()!.recvWindowBytes;
        if (phase === 'fast' && window === MAX) {
          phase = 'slow';
          slowFrom = stream.bytesReceived;
        } else if (phase === 'slow' && stream.bytesReceived - slowFrom >= 6 * MiB) {
          phase = 'stall';
          check();
        }
      });
    });
    await stalled;

    const held = stream.windows()!;
    expect(largestWindow, 'the fast consumer got the largest window').to.equal(MAX);
    expect(receiver.stats().windowsShrunk).to.be.at.least(1);
    expect(held.recvWindowBytes).to.equal(INITIAL);
    expect(held.recvBufferedBytes + held.recvCreditBytes, 'held by the stalled stream').to.be.at.most(INITIAL);
    expect(stream.unacknowledgedBytes).to.be.at.most(held.recvBufferedBytes);
  });
});
