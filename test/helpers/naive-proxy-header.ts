/**
 * A deliberately naive second PROXY header parser for cross-checking the real decoder: whole
 * buffer at once, regular expressions and node:net for v1, byte arithmetic by hand for v2, a
 * bit-at-a-time CRC32C. No incremental state, no early rejection, no views. Slow and obvious.
 *
 * Its rules are the decoder's (spec plus sluice's choices: UDP refused with PROXY, LOCAL's block
 * skipped (and TLVs in it that are not well formed dropped), at most one CRC32C, UNIQUE_ID <= 128, SSL TLV >= 5 bytes with whole sub-TLVs). Addresses
 * come out formatted by node:net's SocketAddress, TLV values and UNIX paths as hex.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

/** An endpoint as the naive parser reports it. */
export type NaiveEndpoint = { address: string; port: number } | { path: string };

/** A header as the naive parser reports it. */
export interface NaiveHeader {
  version: 1 | 2;
  kind: 'tcp4' | 'tcp6' | 'unix' | 'unknown' | 'local';
  source?: NaiveEndpoint;
  destination?: NaiveEndpoint;
  tlvs: { type: number; value: string }[];
  byteLength: number;
}

/** The naive verdict on a buffer that starts at the connection's first byte. */
export type NaiveResult = { kind: 'need-more' } | { kind: 'header'; header: NaiveHeader } | { kind: 'error'; code: string };

const INVALID = 'ERR_PROXY_HEADER_INVALID';
const TOO_LARGE = 'ERR_PROXY_HEADER_TOO_LARGE';
const UNSUPPORTED = 'ERR_PROXY_HEADER_UNSUPPORTED';
const SIGNATURE = [13, 10, 13, 10, 0, 13, 10, 81, 85, 73, 84, 10];

function fail(code: string): NaiveResult {
  return { kind: 'error', code };
}

function port(text: string): number | null {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || text.length > 5 || Number(text) > 65535) return null;
  return Number(text);
}

function naiveV1(bytes: Uint8Array): NaiveResult {
  const text = Buffer.from(bytes).toString('latin1');
  const prefix = 'PROXY ';
  if (!prefix.startsWith(text.slice(0, 6))) return fail(INVALID);
  if (text.length < 6) return { kind: 'need-more' };
  const window = text.slice(0, 107);
  const lf = window.indexOf('\n');
  if (lf === -1) {
    const cr = window.indexOf('\r');
    if (cr !== -1 && cr < window.length - 1) return fail(INVALID);
    return window.length >= 107 ? fail(TOO_LARGE) : { kind: 'need-more' };
  }
  const line = window.slice(0, lf + 1);
  if (!line.endsWith('\r\n') || line.slice(0, -2).includes('\r')) return fail(INVALID);
  const byteLength = line.length;
  if (/^PROXY UNKNOWN( [^\r\n]*)?\r\n$/.test(line)) return { kind: 'header', header: { version: 1, kind: 'unknown', tlvs: [], byteLength } };
  const m = /^PROXY (TCP4|TCP6) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)\r\n$/.exec(line);
  if (m === null) return fail(INVALID);
  const [, protocol, src, dst, sport, dport] = m as unknown as [string, string, string, string, string, string];
  const valid = protocol === 'TCP4' ? (a: string) => isIPv4(a) : (a: string) => isIPv6(a) && !a.includes('%');
  if (!valid(src) || !valid(dst) || port(sport) === null || port(dport) === null) return fail(INVALID);
  const family = protocol === 'TCP4' ? 'ipv4' : 'ipv6';
  const canonical = (a: string) => new SocketAddress({ address: a, family }).address;
  return {
    kind: 'header',
    header: {
      version: 1,
      kind: protocol === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: canonical(src), port: port(sport)! },
      destination: { address: canonical(dst), port: port(dport)! },
      tlvs: [],
      byteLength,
    },
  };
}

/** CRC32C one bit at a time, straight from the definition (reflected 0x82F63B78). */
export function naiveCrc32c(bytes: number[]): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(bytes: number[]): string {
  return Buffer.from(bytes).toString('hex');
}

function ipv4At(b: number[], at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6At(b: number[], at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i]! * 256 + b[at + 2 * i + 1]!).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

function unixAt(b: number[], at: number): string {
  const path = b.slice(at, at + 108);
  while (path.length > 0 && path[path.length - 1] === 0) path.pop();
  return hex(path);
}

/** Splits b[from, to) into TLVs, or null if one runs past `to`. */
function tlvsIn(b: number[], from: number, to: number): { type: number; at: number; value: number[] }[] | null {
  const out: { type: number; at: number; value: number[] }[] = [];
  let at = from;
  while (at < to) {
    if (at + 3 > to) return null;
    const length = b[at + 1]! * 256 + b[at + 2]!;
    if (at + 3 + length > to) return null;
    out.push({ type: b[at]!, at: at + 3, value: b.slice(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return out;
}

function naiveV2(bytes: Uint8Array, maxHeaderBytes: number): NaiveResult {
  const b = Array.from(bytes);
  for (let i = 0; i < Math.min(12, b.length); i++) if (b[i] !== SIGNATURE[i]) return fail(INVALID);
  if (b.length >= 13 && (b[12]! >> 4 !== 2 || (b[12]! & 15) > 1)) return fail(INVALID);
  const local = b[12] === 0x20;
  if (b.length >= 14) {
    if (![0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32].includes(b[13]!)) return fail(INVALID);
    if (!local && [0x12, 0x22, 0x32].includes(b[13]!)) return fail(UNSUPPORTED);
  }
  if (b.length < 16) return { kind: 'need-more' };
  const family = b[13]!;
  const length = b[14]! * 256 + b[15]!;
  const block = { 0x00: 0, 0x11: 12, 0x12: 12, 0x21: 36, 0x22: 36, 0x31: 216, 0x32: 216 }[family]!;
  if (!local && length < block) return fail(INVALID);
  if (16 + length > maxHeaderBytes) return fail(TOO_LARGE);
  if (b.length < 16 + length) return { kind: 'need-more' };
  const h = b.slice(0, 16 + length);
  const header: NaiveHeader = { version: 2, kind: 'local', tlvs: [], byteLength: h.length };
  let tlvStart = 16 + block;
  if (local) {
    if (length < block) tlvStart = h.length;
  } else if (family === 0x11) {
    header.kind = 'tcp4';
    header.source = { address: ipv4At(h, 16), port: h[24]! * 256 + h[25]! };
    header.destination = { address: ipv4At(h, 20), port: h[26]! * 256 + h[27]! };
  } else if (family === 0x21) {
    header.kind = 'tcp6';
    header.source = { address: ipv6At(h, 16), port: h[48]! * 256 + h[49]! };
    header.destination = { address: ipv6At(h, 32), port: h[50]! * 256 + h[51]! };
  } else if (family === 0x31) {
    header.kind = 'unix';
    header.source = { path: unixAt(h, 16) };
    header.destination = { path: unixAt(h, 124) };
  } else {
    header.kind = 'unknown';
  }
  const judged = naiveTlvs(h, tlvStart, header);
  // LOCAL's block is discarded whatever it holds: TLVs that are not well formed are dropped.
  if (judged !== null && local) return { kind: 'header', header: { ...header, tlvs: [] } };
  return judged ?? { kind: 'header', header };
}

/** Checks and appends the TLVs of h[from, end) to `header`; a failure when one is not well formed. */
function naiveTlvs(h: number[], from: number, header: NaiveHeader): NaiveResult | null {
  const tlvs = tlvsIn(h, from, h.length);
  if (tlvs === null) return fail(INVALID);
  let crcSeen = false;
  for (const tlv of tlvs) {
    if (tlv.type === 0x03) {
      if (tlv.value.length !== 4 || crcSeen) return fail(INVALID);
      crcSeen = true;
      const zeroed = h.slice();
      zeroed.splice(tlv.at, 4, 0, 0, 0, 0);
      const sent = ((tlv.value[0]! * 256 + tlv.value[1]!) * 256 + tlv.value[2]!) * 256 + tlv.value[3]!;
      if (naiveCrc32c(zeroed) !== sent) return fail(INVALID);
    }
    if (tlv.type === 0x05 && tlv.value.length > 128) return fail(INVALID);
    if (tlv.type === 0x20 && (tlv.value.length < 5 || tlvsIn(tlv.value, 5, tlv.value.length) === null)) return fail(INVALID);
    header.tlvs.push({ type: tlv.type, value: hex(tlv.value) });
  }
  return null;
}

/** Judges `bytes`, the start of a connection, all at once; `maxHeaderBytes` caps a v2 header. */
export function naiveParseProxyHeader(bytes: Uint8Array, maxHeaderBytes = 4096): NaiveResult {
  if (bytes.length === 0) return { kind: 'need-more' };
  if (bytes[0] === 0x50) return naiveV1(bytes);
  if (bytes[0] === 0x0d) return naiveV2(bytes, maxHeaderBytes);
  return fail(INVALID);
}
