import { createHash } from 'node:crypto';

/** A small seeded PRNG (mulberry32) so every random test can be replayed from its title. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` pseudo-random bytes from `seed`. */
export function randomBytes(size: number, seed: number): Buffer {
  const rnd = seededRandom(seed);
  const out = Buffer.allocUnsafe(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) out.writeUInt32LE((rnd() * 4294967296) >>> 0, i);
  for (; i < size; i++) out[i] = (rnd() * 256) | 0;
  return out;
}

/** Splits `data` into pieces of random length in [1, maxPiece]. */
export function randomChunks(data: Buffer, maxPiece: number, seed: number): Buffer[] {
  const rnd = seededRandom(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(rnd() * maxPiece);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Hex sha256 of some bytes. */
export function sha256(...parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}
