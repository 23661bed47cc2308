import { randomBytes } from 'node:crypto';

/**
 * Request ids shaped like toxiproxy's (rs/xid, sent as `X-Toxiproxy-Request-Id`): 12 bytes
 * (seconds since the epoch, 3 bytes of this process's machine id, 2 of its pid, a 3-byte counter)
 * as 20 characters of lowercase base32hex. Sortable by time, unique within a process without
 * coordination, and the same length and alphabet a log scraper written for toxiproxy expects.
 */

const ALPHABET = '0123456789abcdefghijklmnopqrstuv';
const MACHINE_ID = randomBytes(3);
let counter = randomBytes(3).readUIntBE(0, 3);

/** Encodes bytes as unpadded lowercase base32hex (xid's encoding). */
export function base32hex(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A new request id (20 characters, [0-9a-v]); `nowMs` is for tests. */
export function newRequestId(nowMs: number = Date.now()): string {
  const id = Buffer.alloc(12);
  id.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 0);
  MACHINE_ID.copy(id, 4);
  id.writeUInt16BE(process.pid & 0xffff, 7);
  counter = (counter + 1) & 0xffffff;
  id.writeUIntBE(counter, 9, 3);
  return base32hex(id);
}
