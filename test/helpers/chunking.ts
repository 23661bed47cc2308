/** The chunking matrix every decoder test runs through, and a reassembler for decoder output. */
import type { FrameHeader, FramePart } from '../../windowing/index.js';
import { SeededRandom } from './seeded-random.js';

/** A way of cutting a byte stream into chunks, with a name for test titles. */
export interface Chunking {
  name: string;
  split(bytes: Buffer): Buffer[];
}

function pieces(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** Random cut points from a seeded generator; pieces of 1..maxPiece bytes. */
export function randomSplit(bytes: Buffer, seed: number, maxPiece = 40): Buffer[] {
  const rng = new SeededRandom(seed);
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = rng.int(1, maxPiece);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Cuts `bytes` at the given fractions (0..1) into chunks; property tests generate the fractions. */
export function cutAtFractions(bytes: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  return out;
}

/** whole, byte by byte, 5-byte pieces, seeded random splits (seed in the name). */
export function chunkings(seeds: number[] = [1, 42, 20240229]): Chunking[] {
  return [
    { name: 'whole', split: (b) => [b] },
    { name: 'byte by byte', split: (b) => pieces(b, 1) },
    { name: '5-byte pieces', split: (b) => pieces(b, 5) },
    ...seeds.map((seed) => ({ name: `random splits seed=${seed}`, split: (b: Buffer) => randomSplit(b, seed) })),
  ];
}

/** A whole frame rebuilt from decoder parts. */
export interface WholeFrame {
  header: FrameHeader;
  payload: Buffer;
}

/** Joins FrameParts back into whole frames, checking offsets and end marks line up. */
export function reassemble(parts: FramePart[]): WholeFrame[] {
  const frames: WholeFrame[] = [];
  let open: { header: FrameHeader; pieces: Buffer[]; got: number } | null = null;
  for (const part of parts) {
    if (part.start) {
      if (open !== null) throw new Error('reassemble: new frame before the last one ended');
      open = { header: part.header, pieces: [], got: 0 };
    } else if (open === null || open.header !== part.header || open.got !== part.offset) {
      throw new Error('reassemble: part does not continue the open frame');
    }
    open.pieces.push(part.payload);
    open.got += part.payload.length;
    if (part.end) {
      if (open.got !== (part.header.type === 0 ? part.header.length : 0)) throw new Error('reassemble: wrong payload size');
      frames.push({ header: open.header, payload: Buffer.concat(open.pieces) });
      open = null;
    }
  }
  if (open !== null) throw new Error('reassemble: last frame incomplete');
  return frames;
}
