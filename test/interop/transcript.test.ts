import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scenarios/harness/go-peers.js';
import { decodeFrames, directionBytes, transcriptFrames, type Transcript } from './yamux-frames.js';

// Integrity of the golden transcript (no Go needed): the bytes are whole, every frame decodes,
// and the frame list stored beside them is what the independent decoder sees.
describe('interop: golden yamux transcript (test/fixtures/yamux-go-transcript.json)', function () {
  const t = JSON.parse(
    readFileSync(join(repoRoot(), 'test/fixtures/yamux-go-transcript.json'), 'utf8'),
  ) as Transcript;

  for (const dir of ['c2s', 's2c'] as const) {
    it(`${dir}: chunks are contiguous and match the recorded size and sha256`, function () {
      let offset = 0;
      for (const c of t.chunks.filter((x) => x.dir === dir)) {
        expect(c.offset).to.equal(offset);
        expect(c.hex.length).to.equal(c.length * 2);
        offset += c.length;
      }
      const bytes = directionBytes(t, dir);
      expect(bytes.length).to.equal(t.directions[dir].bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).to.equal(t.directions[dir].sha256);
    });

    it(`${dir}: decodes into whole version-0 frames with nothing left over`, function () {
      const { frames, rest } = decodeFrames(directionBytes(t, dir));
      expect(rest).to.equal(0);
      expect(frames.length).to.be.greaterThan(5);
      for (const f of frames) {
        expect(f.version).to.equal(0);
        expect(f.type).to.be.within(0, 3);
      }
    });
  }

  it('chunk seq numbers run 0..n-1', function () {
    expect(t.chunks.map((c) => c.seq)).to.deep.equal(t.chunks.map((_, i) => i));
  });

  it('the stored frame list is what the independent decoder sees', function () {
    expect(t.frames).to.deep.equal(transcriptFrames(t));
  });

  it('contains what the script promises: opens, data, ping, window updates, FINs, go away', function () {
    const frames = t.frames!;
    const has = (dir: string, type: string, flags: string, streamId?: number) =>
      frames.some((f) => f.dir === dir && f.type === type && f.flags === flags && (streamId === undefined || f.streamId === streamId));
    // Go opens a stream with a WINDOW_UPDATE carrying SYN and delta 0; the acceptor answers with ACK.
    expect(frames[0]).to.include({ dir: 'c2s', type: 'WINDOW_UPDATE', flags: 'SYN', streamId: 1, length: 0 });
    expect(has('s2c', 'WINDOW_UPDATE', 'ACK', 1)).to.equal(true);
    expect(has('c2s', 'WINDOW_UPDATE', 'SYN', 3)).to.equal(true);
    expect(has('s2c', 'WINDOW_UPDATE', 'ACK', 3)).to.equal(true);
    // Ping: SYN out, ACK back with the same opaque value, stream 0.
    const ping = frames.find((f) => f.type === 'PING' && f.flags === 'SYN')!;
    expect(ping).to.include({ dir: 'c2s', streamId: 0 });
    expect(frames.find((f) => f.type === 'PING' && f.flags === 'ACK')).to.include({ dir: 's2c', streamId: 0, length: ping.length });
    // Real window updates (no flags, non-zero delta) both ways.
    for (const dir of ['c2s', 's2c']) {
      expect(frames.some((f) => f.dir === dir && f.type === 'WINDOW_UPDATE' && f.flags === '' && f.length > 0), dir).to.equal(true);
    }
    // FIN both ways on both streams, carried by WINDOW_UPDATE frames.
    for (const dir of ['c2s', 's2c']) for (const id of [1, 3]) expect(has(dir, 'WINDOW_UPDATE', 'FIN', id), `${dir} ${id}`).to.equal(true);
    // Go away (normal) last.
    expect(frames[frames.length - 1]).to.include({ dir: 'c2s', type: 'GO_AWAY', streamId: 0, length: 0 });
    // Every DATA byte the client sent came back.
    const dataBytes = (dir: string) => frames.filter((f) => f.dir === dir && f.type === 'DATA').reduce((n, f) => n + f.length, 0);
    expect(dataBytes('s2c')).to.equal(dataBytes('c2s'));
  });
});
