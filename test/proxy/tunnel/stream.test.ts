/**
 * A TunnelStream's write callback says the chunk is no longer referenced: the sidecars then hand
 * the block back to the read pool and the next socket read lands in it. So the callback must wait
 * until the link has written every frame pointing into the chunk, also when the link is backed
 * up (a peer slow to read) and the write had to wait for credit after its frames were queued.
 * Calling back early sent other bytes in place of the chunk (the tunnel interop tests' corrupted
 * echoes under load: right length, wrong content).
 */
import { expect } from 'chai';
import { DirectionWindow, Flag, FrameDecoder, FrameType, encodeFrame, INITIAL_STREAM_WINDOW_BYTES } from '../../../windowing/index.js';
import { TunnelSession } from '../../../proxy/index.js';
import { BlockPool, POISON_BYTE } from '../../../proxy/memory/block-pool.js';
import { Direction } from '../../../proxy/pipeline/index.js';
import { OnreadReader } from '../../../proxy/reads/onread-reader.js';
import { HeldLink } from '../../helpers/held-link.js';
import { randomBytes } from '../../../scenarios/harness/random.js';
import { adoptedPair } from '../../helpers/adopted.js';
import { Resources } from '../../helpers/sockets.js';

const WINDOW = INITIAL_STREAM_WINDOW_BYTES;
/** A poisoned read pool fills every block freed with this, so a block still in use shows up as it. */
const POISON = POISON_BYTE;

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

/** The peer acknowledges stream 1 and grants it another window. */
function creditFromPeer(): Buffer {
  return Buffer.concat(encodeFrame({ type: FrameType.WindowUpdate, flags: Flag.ACK, streamId: 1, length: WINDOW }));
}

/** The DATA payload of stream 1 on the wire, in order. */
function payloadOnWire(wire: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const part of new FrameDecoder({ maxFrameBytes: 0xffffffff }).push(wire)) {
    if (part.header.type === FrameType.Data && part.header.streamId === 1) parts.push(part.payload);
  }
  return Buffer.concat(parts);
}

/** Where `got` first differs from `want`, or null when they are equal. */
function firstDifference(got: Buffer, want: Buffer): string | null {
  if (got.equals(want)) return null;
  let at = 0;
  while (at < got.length && at < want.length && got[at] === want[at]) at++;
  if (at === got.length || at === want.length) return `${got.length} bytes, ${want.length} expected`;
  return `byte ${at} of ${want.length} is 0x${got[at]!.toString(16)}${got[at] === POISON ? ' (poison: its buffer was given back while the link still held it)' : ''}`;
}

describe('TunnelStream write callbacks wait for the link', () => {
  const res = new Resources();
  const sessions: TunnelSession[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await res.closeAll();
  });

  function session(link: HeldLink): TunnelSession {
    const s = new TunnelSession(link, { role: 'dialer', keepaliveIntervalMs: 0, autoTune: false });
    sessions.push(s);
    return s;
  }

  it('a write that spent the credit is called back only once the backed-up link has written its frames', async () => {
    const link = new HeldLink();
    const stream = session(link).open();
    const data = randomBytes(WINDOW, 1);
    const sent = Buffer.from(data);
    let calledBack = false;
    stream.write(data, () => {
      calledBack = true;
      data.fill(POISON); // the writer reuses its buffer once called back, as the read pools do
    });
    await settle();
    expect(link.writableLength, 'the frames wait in the link').to.be.above(WINDOW);

    link.peerSends(creditFromPeer()); // credit comes back while the frames are still unwritten
    await settle();
    expect(calledBack, 'called back while the link still holds the frames').to.equal(false);

    link.deliver();
    await settle();
    expect(calledBack).to.equal(true);
    expect(firstDifference(payloadOnWire(link.wire()), sent)).to.equal(null);
  });

  it('a write with nothing left in flight is called back at once', async () => {
    const link = new HeldLink();
    link.holding = false;
    const stream = session(link).open();
    let calledBack = false;
    stream.write(randomBytes(WINDOW, 2), () => (calledBack = true));
    await settle();
    link.peerSends(creditFromPeer());
    await settle();
    expect(calledBack).to.equal(true);
  });

  it('end to end: a client socket read into pooled blocks, through a stream, over a backed-up link, arrives intact', async () => {
    const { link, stream, sendWindow } = await socketThroughStream();
    const data = await sendWindow(3);
    expect(stream.bytesSent).to.equal(WINDOW);
    expect(link.writableLength, 'the last frames wait in the link').to.be.above(0);

    link.peerSends(creditFromPeer());
    await settle();
    link.deliver();
    await settle();
    expect(firstDifference(payloadOnWire(link.wire()), data)).to.equal(null);
  });

  it('a stream destroyed with its frames still in the link: its blocks come back to the pool\'s count, never reused, and the link sends them intact', async () => {
    const { source, pool, link, stream, direction, sendWindow } = await socketThroughStream();
    const data = await sendWindow(4);
    expect(link.writableLength, 'the last frames wait in the link').to.be.above(0);

    // Both sides go while the link still points into the last blocks read.
    stream.destroy();
    source.destroy();
    direction.stop();
    await settle();
    pool.tick();
    expect(pool.ledger.inUse, 'blocks still counted in use').to.equal(0);
    for (let i = 0; i < 8; i++) pool.view(pool.take()).fill(0x11); // whatever is taken next is fresh memory, not the link's

    link.deliver();
    await settle();
    expect(firstDifference(payloadOnWire(link.wire()), data)).to.equal(null);
  });

  /**
   * A socket read into a poisoned block pool, through a direction, into a stream over a link that
   * holds its writes (the peer is slow to read). sendWindow then writes exactly the stream's
   * credit into the socket and lets the link write a batch at a time until all of it is framed;
   * the last frames stay held.
   */
  async function socketThroughStream() {
    const { client, source, hook } = await adoptedPair(res);
    const pool = new BlockPool({ poison: true });
    res.defer(() => pool.close());
    const link = new HeldLink();
    link.holding = false;
    const stream = session(link).open();
    await settle();
    link.holding = true;
    const direction = new Direction({
      reader: new OnreadReader(source, hook, pool),
      sink: stream,
      window: new DirectionWindow({ windowBytes: 4 * WINDOW }),
      now: () => performance.now(),
    });
    res.defer(() => direction.stop());
    const sendWindow = async (seed: number): Promise<Buffer> => {
      const data = randomBytes(WINDOW, seed);
      client.write(data);
      direction.start();
      await settle();
      for (let i = 0; i < 100 && stream.bytesSent < WINDOW; i++) {
        link.deliver();
        await settle();
      }
      return data;
    };
    return { source, pool, link, stream, direction, sendWindow };
  }
});
