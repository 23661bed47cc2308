/**
 * PROXY header encoders. Each returns one exact-size buffer: the spec wants the header sent at
 * once, ahead of any byte of the connection, so the caller writes it first and forwards nothing
 * before that write. Bad fields throw InvalidProxyFieldError (a UsageError): the caller built
 * them, the peer did not.
 */
import {
  IPV4_ADDRESS_BYTES,
  IPV6_ADDRESS_BYTES,
  PROXY_CRC32C_BYTES,
  PROXY_TLV_HEADER_BYTES,
  PROXY_V1_PREFIX,
  PROXY_V2_FIXED_BYTES,
  PROXY_V2_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  PROXY_V2_VERSION,
  PROXY_UNIQUE_ID_MAX_BYTES,
  ProxyTlvType,
  ProxyV1Protocol,
  ProxyV2Command,
  ProxyV2Family,
  ProxyV2Offset,
  UNIX_ADDRESS_BYTES,
} from './constants.js';
import { crc32c } from './crc32c.js';
import { InvalidProxyFieldError } from './errors.js';
import type { ProxyAddresses, ProxyIpEndpoint, ProxyTcpAddresses, ProxyTlv, ProxyUnixEndpoint, ProxyUnknownAddresses } from './header.js';
import { formatIPv4, formatIPv6, parseIPv4Text, parseIPv6Text } from './ip.js';
import { checkTlv, tlvsByteLength, writeTlvs } from './tlv.js';
import { addressBlockBytes } from './v2.js';

/** What a v1 line can say: TCP over IPv4 or IPv6, or UNKNOWN. */
export type ProxyV1Addresses = ProxyTcpAddresses | ProxyUnknownAddresses;

/** Options of encodeProxyV2. */
export interface ProxyV2EncodeOptions {
  /** Add a CRC32C TLV (first, as HAProxy does) covering the whole header. Default false. */
  crc32c?: boolean;
}

function checkPort(field: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new InvalidProxyFieldError(field, `must be a port in 0..65535, got ${port}`);
}

function addressBytes(kind: 'tcp4' | 'tcp6', field: string, endpoint: ProxyIpEndpoint): Uint8Array {
  const text = String(endpoint?.address);
  const bytes = kind === 'tcp4' ? parseIPv4Text(text) : parseIPv6Text(text);
  if (bytes === null) throw new InvalidProxyFieldError(`${field}.address`, `"${text}" is not ${kind === 'tcp4' ? 'IPv4' : 'IPv6'} text, as ${kind} needs`);
  checkPort(`${field}.port`, endpoint.port);
  return bytes;
}

function checkKind(kind: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(kind as string)) throw new InvalidProxyFieldError('kind', `must be one of ${allowed.join(', ')}, got ${String(kind)}`);
}

/**
 * Encodes a v1 line: `PROXY TCP4 ...`, `PROXY TCP6 ...` or `PROXY UNKNOWN`. Addresses must be text
 * of the line's family (use proxyAddressesFor to pick the family from a socket's addresses); IPv6
 * is written as hex groups only (`::ffff:102:304`), the form the spec describes.
 */
export function encodeProxyV1(addresses: ProxyV1Addresses): Buffer {
  checkKind(addresses?.kind, ['tcp4', 'tcp6', 'unknown']);
  if (addresses.kind === 'unknown') return Buffer.from(`${PROXY_V1_PREFIX}${ProxyV1Protocol.Unknown}\r\n`, 'latin1');
  const kind = addresses.kind;
  const source = addressBytes(kind, 'source', addresses.source);
  const destination = addressBytes(kind, 'destination', addresses.destination);
  const text = (bytes: Uint8Array) => (kind === 'tcp4' ? formatIPv4(bytes) : formatIPv6(bytes, 0, { dottedTail: false }));
  const protocol = kind === 'tcp4' ? ProxyV1Protocol.Tcp4 : ProxyV1Protocol.Tcp6;
  const line = `${PROXY_V1_PREFIX}${protocol} ${text(source)} ${text(destination)} ${addresses.source.port} ${addresses.destination.port}\r\n`;
  return Buffer.from(line, 'latin1');
}

function unixPath(field: string, endpoint: ProxyUnixEndpoint): Uint8Array {
  const path = endpoint?.path;
  if (!(path instanceof Uint8Array)) throw new InvalidProxyFieldError(`${field}.path`, 'must be bytes');
  if (path.length > UNIX_ADDRESS_BYTES) throw new InvalidProxyFieldError(`${field}.path`, `${path.length} bytes, more than ${UNIX_ADDRESS_BYTES}`);
  return path;
}

function familyOf(addresses: ProxyAddresses): number {
  switch (addresses.kind) {
    case 'tcp4':
      return ProxyV2Family.Tcp4;
    case 'tcp6':
      return ProxyV2Family.Tcp6;
    case 'unix':
      return ProxyV2Family.UnixStream;
    default:
      return ProxyV2Family.Unspec;
  }
}

function writeAddresses(out: Buffer, addresses: ProxyAddresses): void {
  const at = PROXY_V2_FIXED_BYTES;
  if (addresses.kind === 'tcp4' || addresses.kind === 'tcp6') {
    const size = addresses.kind === 'tcp4' ? IPV4_ADDRESS_BYTES : IPV6_ADDRESS_BYTES;
    out.set(addressBytes(addresses.kind, 'source', addresses.source), at);
    out.set(addressBytes(addresses.kind, 'destination', addresses.destination), at + size);
    out.writeUInt16BE(addresses.source.port, at + 2 * size);
    out.writeUInt16BE(addresses.destination.port, at + 2 * size + 2);
  } else if (addresses.kind === 'unix') {
    out.fill(0, at, at + 2 * UNIX_ADDRESS_BYTES);
    out.set(unixPath('source', addresses.source), at);
    out.set(unixPath('destination', addresses.destination), at + UNIX_ADDRESS_BYTES);
  }
}

/**
 * Encodes a v2 header: PROXY for tcp4, tcp6, unix and unknown (UNSPEC), LOCAL for local, followed
 * by `tlvs` in order (e.g. passThroughTlvs of an accepted header plus uniqueIdTlv), and a CRC32C
 * TLV if asked. CRC32C may not be among `tlvs` (it must be computed here), UNIQUE_ID is at most
 * 128 bytes, and everything after the fixed part must fit the u16 length.
 */
export function encodeProxyV2(addresses: ProxyAddresses, tlvs: readonly ProxyTlv[] = [], options: ProxyV2EncodeOptions = {}): Buffer {
  checkKind(addresses?.kind, ['tcp4', 'tcp6', 'unix', 'unknown', 'local']);
  tlvs.forEach((tlv, i) => {
    checkTlv(tlv, `tlvs[${i}]`);
    if (tlv.type === ProxyTlvType.Crc32c) throw new InvalidProxyFieldError(`tlvs[${i}]`, 'a CRC32C TLV is computed by the encoder: pass { crc32c: true }');
    if (tlv.type === ProxyTlvType.UniqueId && tlv.value.length > PROXY_UNIQUE_ID_MAX_BYTES) {
      throw new InvalidProxyFieldError(`tlvs[${i}]`, `UNIQUE_ID of ${tlv.value.length} bytes, more than ${PROXY_UNIQUE_ID_MAX_BYTES}`);
    }
  });
  const family = familyOf(addresses);
  const block = addresses.kind === 'local' ? 0 : addressBlockBytes(family);
  const crcBytes = options.crc32c === true ? PROXY_TLV_HEADER_BYTES + PROXY_CRC32C_BYTES : 0;
  const length = block + crcBytes + tlvsByteLength(tlvs);
  if (length > PROXY_V2_MAX_LENGTH) throw new InvalidProxyFieldError('tlvs', `header payload of ${length} bytes exceeds the u16 length field (${PROXY_V2_MAX_LENGTH})`);
  const out = Buffer.alloc(PROXY_V2_FIXED_BYTES + length);
  out.set(PROXY_V2_SIGNATURE, ProxyV2Offset.signature);
  const command = addresses.kind === 'local' ? ProxyV2Command.Local : ProxyV2Command.Proxy;
  out[ProxyV2Offset.versionCommand] = (PROXY_V2_VERSION << 4) | command;
  out[ProxyV2Offset.family] = family;
  out.writeUInt16BE(length, ProxyV2Offset.length);
  writeAddresses(out, addresses);
  let at = PROXY_V2_FIXED_BYTES + block;
  const crcAt = at + PROXY_TLV_HEADER_BYTES;
  if (crcBytes > 0) at = writeTlvs(out, at, [{ type: ProxyTlvType.Crc32c, value: Buffer.alloc(PROXY_CRC32C_BYTES) }]);
  writeTlvs(out, at, tlvs);
  if (crcBytes > 0) out.writeUInt32BE(crc32c(out, crcAt), crcAt);
  return out;
}
