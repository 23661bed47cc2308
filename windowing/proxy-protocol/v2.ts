/**
 * Version 2, the binary header: 12-byte signature, version/command, family/transport, u16 length,
 * then the address block and TLVs. Two entry points: a check of the fixed part as far as it has
 * arrived (every byte of it is judged as soon as it is there, the length before the payload is
 * awaited), and the parse of a complete header.
 *
 * Choices where the spec leaves room:
 * - PROXY with a datagram family (UDP4/UDP6/UNIX dgram) is refused: sluice relays streams, and a
 *   header that describes datagrams at the start of a TCP connection means a misconfigured sender
 *   (for UDP the spec puts a header in every datagram). The spec lets a receiver fall back to
 *   "unknown" here; refusing says so loudly instead of logging the sender's own address as the
 *   client's.
 * - PROXY with UNSPEC is accepted as `unknown` (use the socket's addresses), as HAProxy does.
 * - LOCAL ignores the family, as the spec says, but the byte must still be one the spec defines.
 *   Its address block is skipped: TLVs follow it when the length covers it; when it does not (some
 *   senders write LOCAL with a family and length 0), the whole payload is skipped as opaque. TLVs
 *   that do not parse, or a CRC32C that does not match, are dropped rather than refused: the spec
 *   has the receiver discard LOCAL's block, and HAProxy accepts such health checks.
 */
import {
  PROXY_V2_FIXED_BYTES,
  PROXY_V2_INET6_BLOCK_BYTES,
  PROXY_V2_INET_BLOCK_BYTES,
  PROXY_V2_SIGNATURE,
  PROXY_V2_SIGNATURE_BYTES,
  PROXY_V2_UNIX_BLOCK_BYTES,
  PROXY_V2_VERSION,
  IPV4_ADDRESS_BYTES,
  IPV6_ADDRESS_BYTES,
  ProxyV2Command,
  ProxyV2Family,
  ProxyV2Offset,
  UNIX_ADDRESS_BYTES,
} from './constants.js';
import { ProxyHeaderError, ProxyHeaderInvalidError, ProxyHeaderInvalidReason, ProxyHeaderTooLargeError, ProxyHeaderUnsupportedError } from './errors.js';
import type { ProxyAddresses, ProxyHeader, ProxyUnixEndpoint } from './header.js';
import { formatIPv4, formatIPv6 } from './ip.js';
import { readTlvs } from './tlv.js';

const DEFINED_FAMILIES: ReadonlySet<number> = new Set(Object.values(ProxyV2Family));
const DATAGRAM_FAMILIES: ReadonlySet<number> = new Set([ProxyV2Family.Udp4, ProxyV2Family.Udp6, ProxyV2Family.UnixDatagram]);

/** Spec: size of the address block each family carries (0 for UNSPEC). */
export function addressBlockBytes(family: number): number {
  switch (family & 0xf0) {
    case 0x10:
      return PROXY_V2_INET_BLOCK_BYTES;
    case 0x20:
      return PROXY_V2_INET6_BLOCK_BYTES;
    case 0x30:
      return PROXY_V2_UNIX_BLOCK_BYTES;
    default:
      return 0;
  }
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** Where the fixed part leaves things once all 16 bytes are in. */
export interface V2Fixed {
  readonly command: ProxyV2Command;
  readonly family: number;
  /** 16 + the length field: the whole header's size. */
  readonly byteLength: number;
}

/**
 * Judges the v2 header bytes that have arrived (`bytes`, from its first byte, any length): the
 * error if they already break a rule, the fixed part once its 16 bytes are in, else null (need
 * more). The total size is checked against `maxHeaderBytes` here, before any payload is awaited.
 */
export function checkV2Fixed(bytes: Buffer, maxHeaderBytes: number): ProxyHeaderError | V2Fixed | null {
  const signatureBytes = Math.min(bytes.length, PROXY_V2_SIGNATURE_BYTES);
  for (let i = 0; i < signatureBytes; i++) {
    if (bytes[i] !== PROXY_V2_SIGNATURE[i]) {
      return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.Signature, `byte ${i + 1} is ${hex(bytes[i]!)}, not the v2 signature's ${hex(PROXY_V2_SIGNATURE[i]!)}`);
    }
  }
  if (bytes.length <= ProxyV2Offset.versionCommand) return null;
  const versionCommand = bytes[ProxyV2Offset.versionCommand]!;
  if (versionCommand >> 4 !== PROXY_V2_VERSION) {
    return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.V2Version, `version ${versionCommand >> 4} (byte ${hex(versionCommand)}), only ${PROXY_V2_VERSION} is defined`);
  }
  const command = versionCommand & 0x0f;
  if (command !== ProxyV2Command.Local && command !== ProxyV2Command.Proxy) {
    return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.V2Command, `command ${command} (byte ${hex(versionCommand)}) is neither LOCAL nor PROXY`);
  }
  if (bytes.length <= ProxyV2Offset.family) return null;
  const family = bytes[ProxyV2Offset.family]!;
  if (!DEFINED_FAMILIES.has(family)) {
    return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.V2Family, `family/transport byte ${hex(family)} is not defined`);
  }
  if (command === ProxyV2Command.Proxy && DATAGRAM_FAMILIES.has(family)) {
    return new ProxyHeaderUnsupportedError(family, 'a datagram family on a stream connection; sluice relays TCP');
  }
  if (bytes.length < PROXY_V2_FIXED_BYTES) return null;
  const length = bytes.readUInt16BE(ProxyV2Offset.length);
  const block = addressBlockBytes(family);
  if (command === ProxyV2Command.Proxy && length < block) {
    return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.V2AddressBlock, `length ${length} is shorter than the ${block}-byte address block of family ${hex(family)}`);
  }
  const byteLength = PROXY_V2_FIXED_BYTES + length;
  if (byteLength > maxHeaderBytes) return new ProxyHeaderTooLargeError(2, byteLength, maxHeaderBytes);
  return { command, family, byteLength };
}

function unixEndpoint(bytes: Buffer, at: number): ProxyUnixEndpoint {
  let end = at + UNIX_ADDRESS_BYTES;
  while (end > at && bytes[end - 1] === 0) end--;
  return { path: Buffer.from(bytes.subarray(at, end)) };
}

function readAddresses(header: Buffer, family: number): ProxyAddresses {
  const at = PROXY_V2_FIXED_BYTES;
  switch (family) {
    case ProxyV2Family.Tcp4:
      return {
        kind: 'tcp4',
        source: { address: formatIPv4(header, at), port: header.readUInt16BE(at + 2 * IPV4_ADDRESS_BYTES) },
        destination: { address: formatIPv4(header, at + IPV4_ADDRESS_BYTES), port: header.readUInt16BE(at + 2 * IPV4_ADDRESS_BYTES + 2) },
      };
    case ProxyV2Family.Tcp6:
      return {
        kind: 'tcp6',
        source: { address: formatIPv6(header, at), port: header.readUInt16BE(at + 2 * IPV6_ADDRESS_BYTES) },
        destination: { address: formatIPv6(header, at + IPV6_ADDRESS_BYTES), port: header.readUInt16BE(at + 2 * IPV6_ADDRESS_BYTES + 2) },
      };
    case ProxyV2Family.UnixStream:
      return { kind: 'unix', source: unixEndpoint(header, at), destination: unixEndpoint(header, at + UNIX_ADDRESS_BYTES) };
    default:
      return { kind: 'unknown' };
  }
}

/**
 * Parses a complete v2 header: `header` holds exactly its bytes (16 + length) and checkV2Fixed has
 * passed on them. Returns the header (values copied out of `header`) or the error.
 */
export function parseV2(header: Buffer, fixed: V2Fixed): ProxyHeader | ProxyHeaderError {
  const length = header.length - PROXY_V2_FIXED_BYTES;
  const block = addressBlockBytes(fixed.family);
  let addresses: ProxyAddresses;
  let tlvStart: number;
  if (fixed.command === ProxyV2Command.Local) {
    addresses = { kind: 'local' };
    tlvStart = PROXY_V2_FIXED_BYTES + (length >= block ? block : length);
  } else {
    addresses = readAddresses(header, fixed.family);
    tlvStart = PROXY_V2_FIXED_BYTES + block;
  }
  const tlvs = readTlvs(header, tlvStart);
  // LOCAL (a health check): the spec has the receiver discard the whole block, so TLVs that do not
  // parse (or a checksum that does not match) are dropped, not refused, as HAProxy does.
  if (tlvs instanceof ProxyHeaderError) return fixed.command === ProxyV2Command.Local ? { ...addresses, version: 2, byteLength: header.length, tlvs: [] } : tlvs;
  return { ...addresses, version: 2, byteLength: header.length, ...tlvs };
}
