/**
 * CRC32C (Castagnoli), as the PP2_TYPE_CRC32C TLV uses it (RFC 4960 appendix B): reflected
 * polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF. Node 20 has no CRC32C built in,
 * and a header is at most a few KiB, so a byte-at-a-time table is fast enough.
 */

/** Spec (RFC 4960): the reflected Castagnoli polynomial. */
export const CRC32C_POLYNOMIAL = 0x82f63b78;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLYNOMIAL : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C of `bytes`; with `zeroFrom`, the 4 bytes starting there count as zeros (the checksum field itself). */
export function crc32c(bytes: Uint8Array, zeroFrom?: number): number {
  const zeroStart = zeroFrom ?? bytes.length;
  const zeroEnd = zeroStart + 4;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    const byte = i >= zeroStart && i < zeroEnd ? 0 : bytes[i]!;
    crc = (crc >>> 8) ^ TABLE[(crc ^ byte) & 0xff]!;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
