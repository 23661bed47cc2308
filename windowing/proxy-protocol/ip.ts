/**
 * IP address text <-> bytes, strict enough for the PROXY protocol and free of node:net so windowing/
 * stays pure. Text comes out the way Node formats a socket's addresses (libuv's inet_ntop): lower
 * case, the longest run of two or more zero groups as `::` (the first on a tie), and a dotted tail
 * for IPv4-mapped (`::ffff:1.2.3.4`) and IPv4-compatible (`::1.2.3.4`) addresses. So an address from
 * a header compares equal, as a string, to the same address read off a socket.
 */
import { IPV4_ADDRESS_BYTES, IPV6_ADDRESS_BYTES } from './constants.js';

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Parses a dotted quad, four decimals in 0..255 without leading zeros (spec: no octal confusion), or null. */
export function parseIPv4Text(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== IPV4_ADDRESS_BYTES) return null;
  const bytes = new Uint8Array(IPV4_ADDRESS_BYTES);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (!IPV4_PART.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

function parseGroups(text: string, out: number[]): boolean {
  if (text === '') return true;
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIPv4Text(group);
      if (v4 === null) return false;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (HEX_GROUP.test(group)) {
      out.push(parseInt(group, 16));
    } else {
      return false;
    }
  }
  return true;
}

/**
 * Parses IPv6 text: groups of 1-4 hex digits (either case) split by colons, at most one `::`
 * standing for one or more zero groups, optionally a dotted-quad tail; no zone (`%eth0`), no
 * brackets. Returns the 16 bytes or null.
 */
export function parseIPv6Text(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head: number[] = [];
  const tail: number[] = [];
  if (!parseGroups(halves[0]!, head)) return null;
  if (halves.length === 2 && !parseGroups(halves[1]!, tail)) return null;
  // A dotted tail may only end the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return null;
  let words = head;
  if (halves.length === 2) {
    const zeros = 8 - head.length - tail.length;
    if (zeros < 1) return null;
    words = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  }
  if (words.length !== 8) return null;
  const bytes = new Uint8Array(IPV6_ADDRESS_BYTES);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = words[i]! >> 8;
    bytes[2 * i + 1] = words[i]! & 0xff;
  }
  return bytes;
}

/** Dotted-quad text of the 4 bytes at `at`. */
export function formatIPv4(bytes: Uint8Array, at = 0): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** True when the 16 bytes at `at` are an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`. */
export function isIPv4Mapped(bytes: Uint8Array, at = 0): boolean {
  for (let i = 0; i < 10; i++) if (bytes[at + i] !== 0) return false;
  return bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
}

/** Options of formatIPv6. */
export interface FormatIPv6Options {
  /** Write the last 32 bits of mapped/compatible addresses as a dotted quad (default true, as Node does). */
  dottedTail?: boolean;
}

/** IPv6 text of the 16 bytes at `at`, as Node writes a socket's address (see the file comment). */
export function formatIPv6(bytes: Uint8Array, at = 0, options: FormatIPv6Options = {}): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!);
  let bestBase = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestBase = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestLength < 2) bestBase = -1;
  const dotted =
    (options.dottedTail ?? true) && bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff));
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      text += i === 0 ? '::' : ':';
      i += bestLength - 1;
      continue;
    }
    if (dotted && i === 6) {
      text += formatIPv4(bytes, at + 12);
      break;
    }
    text += words[i]!.toString(16);
    if (i < 7) text += ':';
  }
  return text;
}
