/**
 * TLVs of a v2 header: splitting a block into TLVs that must fill it exactly, reading the known
 * ones (CRC32C checked against the whole header), writing them back, and choosing which of an
 * accepted header's TLVs may be passed on to the next hop.
 */
import {
  PROXY_CRC32C_BYTES,
  PROXY_SSL_FIXED_BYTES,
  PROXY_TLV_HEADER_BYTES,
  PROXY_TLV_MAX_VALUE_BYTES,
  PROXY_UNIQUE_ID_MAX_BYTES,
  ProxySslSubtype,
  ProxyTlvType,
} from './constants.js';
import { crc32c } from './crc32c.js';
import { InvalidProxyFieldError, ProxyHeaderInvalidError, ProxyHeaderInvalidReason } from './errors.js';
import type { ProxyHeader, ProxyHeaderDetails, ProxySslInfo, ProxyTlv } from './header.js';

/** A TLV and where its value sits in the bytes it was split from. */
interface PlacedTlv extends ProxyTlv {
  readonly valueOffset: number;
}

/**
 * Splits `bytes[start, end)` into TLVs whose values are copies; null if a TLV header or value runs
 * past `end` (the TLVs must fill the block exactly).
 */
function splitTlvs(bytes: Buffer, start: number, end: number): PlacedTlv[] | null {
  const tlvs: PlacedTlv[] = [];
  let at = start;
  while (at < end) {
    if (end - at < PROXY_TLV_HEADER_BYTES) return null;
    const type = bytes[at]!;
    const length = bytes.readUInt16BE(at + 1);
    const valueOffset = at + PROXY_TLV_HEADER_BYTES;
    if (length > end - valueOffset) return null;
    tlvs.push({ type, value: Buffer.from(bytes.subarray(valueOffset, valueOffset + length)), valueOffset });
    at = valueOffset + length;
  }
  return tlvs;
}

function withoutPlace(tlv: PlacedTlv): ProxyTlv {
  return { type: tlv.type, value: tlv.value };
}

function readSsl(value: Buffer): ProxySslInfo | ProxyHeaderInvalidError {
  if (value.length < PROXY_SSL_FIXED_BYTES) {
    return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.SslTlv, `SSL TLV of ${value.length} bytes is shorter than its ${PROXY_SSL_FIXED_BYTES} fixed bytes`);
  }
  const sub = splitTlvs(value, PROXY_SSL_FIXED_BYTES, value.length);
  if (sub === null) return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.SslTlv, 'an SSL sub-TLV runs past the SSL TLV');
  const info: { -readonly [K in keyof ProxySslInfo]: ProxySslInfo[K] } = {
    client: value[0]!,
    verify: value.readUInt32BE(1),
    subTlvs: sub.map(withoutPlace),
  };
  for (const { type, value: v } of sub) {
    if (type === ProxySslSubtype.Version) info.version ??= v.toString('latin1');
    else if (type === ProxySslSubtype.CommonName) info.commonName ??= v.toString('utf8');
    else if (type === ProxySslSubtype.Cipher) info.cipher ??= v.toString('latin1');
    else if (type === ProxySslSubtype.SignatureAlgorithm) info.signatureAlgorithm ??= v.toString('latin1');
    else if (type === ProxySslSubtype.KeyAlgorithm) info.keyAlgorithm ??= v.toString('latin1');
    else if (type === ProxySslSubtype.Group) info.group ??= v.toString('latin1');
    else if (type === ProxySslSubtype.SignatureScheme) info.signatureScheme ??= v.toString('latin1');
    else if (type === ProxySslSubtype.ClientCertificate) info.clientCertificate ??= v;
  }
  return info;
}

/** TLV-derived details of a header: everything in ProxyHeaderDetails but version and length. */
export type TlvDetails = Omit<ProxyHeaderDetails, 'version' | 'byteLength'>;

/**
 * Reads the TLVs in `header[start, header.length)`: they must fill it exactly; CRC32C (at most one,
 * 4 bytes) must match the whole header; UNIQUE_ID is at most 128 bytes; SSL must hold its fixed
 * part and whole sub-TLVs. Unknown and custom types are kept raw. Returns the details or the error.
 */
export function readTlvs(header: Buffer, start: number): TlvDetails | ProxyHeaderInvalidError {
  const placed = splitTlvs(header, start, header.length);
  if (placed === null) {
    return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.TlvOverrun, `a TLV runs past the ${header.length - start} bytes of TLVs the header declares`);
  }
  const details: { -readonly [K in keyof TlvDetails]: TlvDetails[K] } = { tlvs: placed.map(withoutPlace) };
  for (const tlv of placed) {
    switch (tlv.type) {
      case ProxyTlvType.Alpn:
        details.alpn ??= tlv.value;
        break;
      case ProxyTlvType.Authority:
        details.authority ??= tlv.value.toString('utf8');
        break;
      case ProxyTlvType.Crc32c: {
        if (tlv.value.length !== PROXY_CRC32C_BYTES) {
          return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.Crc32c, `CRC32C TLV of ${tlv.value.length} bytes, not ${PROXY_CRC32C_BYTES}`);
        }
        // Two checksums cannot both cover a header that holds the other; the spec expects one.
        if (details.crc32c !== undefined) return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.Crc32c, 'two CRC32C TLVs');
        const sent = tlv.value.readUInt32BE(0);
        const computed = crc32c(header, tlv.valueOffset);
        if (sent !== computed) {
          return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.Crc32c, `checksum 0x${hex32(sent)} does not match the header's 0x${hex32(computed)}`);
        }
        details.crc32c = sent;
        break;
      }
      case ProxyTlvType.UniqueId:
        if (tlv.value.length > PROXY_UNIQUE_ID_MAX_BYTES) {
          return new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.UniqueIdTooLong, `UNIQUE_ID of ${tlv.value.length} bytes, more than ${PROXY_UNIQUE_ID_MAX_BYTES}`);
        }
        details.uniqueId ??= tlv.value;
        break;
      case ProxyTlvType.Ssl: {
        const ssl = readSsl(tlv.value);
        if (ssl instanceof ProxyHeaderInvalidError) return ssl;
        details.ssl ??= ssl;
        break;
      }
      case ProxyTlvType.Netns:
        details.netns ??= tlv.value.toString('latin1');
        break;
      default:
        break; // NOOP, custom (0xE0-0xEF), experimental, future and unregistered types: kept raw in `tlvs`.
    }
  }
  return details;
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** Bytes `tlvs` take on the wire. */
export function tlvsByteLength(tlvs: readonly ProxyTlv[]): number {
  let size = 0;
  for (const tlv of tlvs) size += PROXY_TLV_HEADER_BYTES + tlv.value.length;
  return size;
}

/** Throws InvalidProxyFieldError unless `tlv` can go on the wire (type a byte, value at most 65535 bytes). */
export function checkTlv(tlv: ProxyTlv, field: string): void {
  if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > 0xff) {
    throw new InvalidProxyFieldError(`${field}.type`, `must be a whole number in 0..255, got ${tlv.type}`);
  }
  if (!(tlv.value instanceof Uint8Array)) throw new InvalidProxyFieldError(`${field}.value`, 'must be bytes');
  if (tlv.value.length > PROXY_TLV_MAX_VALUE_BYTES) {
    throw new InvalidProxyFieldError(`${field}.value`, `${tlv.value.length} bytes, more than ${PROXY_TLV_MAX_VALUE_BYTES}`);
  }
}

/** Writes `tlvs` into `out` at `at`; returns the offset after them. No checks: callers check first. */
export function writeTlvs(out: Buffer, at: number, tlvs: readonly ProxyTlv[]): number {
  let pos = at;
  for (const tlv of tlvs) {
    out[pos] = tlv.type;
    out.writeUInt16BE(tlv.value.length, pos + 1);
    out.set(tlv.value, pos + PROXY_TLV_HEADER_BYTES);
    pos += PROXY_TLV_HEADER_BYTES + tlv.value.length;
  }
  return pos;
}

/**
 * The TLVs of an accepted header that may travel on to the next hop: all but CRC32C (it covered
 * that header, not the next; ask the encoder for a fresh one) and NOOP (padding for that header).
 * To replace one, filter it out and add yours, e.g. a new UNIQUE_ID.
 */
export function passThroughTlvs(header: ProxyHeader): ProxyTlv[] {
  return header.tlvs.filter((t) => t.type !== ProxyTlvType.Crc32c && t.type !== ProxyTlvType.Noop);
}

/** A UNIQUE_ID TLV (0x05) from bytes or UTF-8 text; throws InvalidProxyFieldError past 128 bytes. */
export function uniqueIdTlv(id: Uint8Array | string): ProxyTlv {
  const value = typeof id === 'string' ? Buffer.from(id, 'utf8') : Buffer.from(id);
  if (value.length > PROXY_UNIQUE_ID_MAX_BYTES) {
    throw new InvalidProxyFieldError('uniqueId', `${value.length} bytes, more than ${PROXY_UNIQUE_ID_MAX_BYTES}`);
  }
  return { type: ProxyTlvType.UniqueId, value };
}

/** An AUTHORITY TLV (0x02): the host name the client asked for, UTF-8. */
export function authorityTlv(host: string): ProxyTlv {
  const tlv = { type: ProxyTlvType.Authority, value: Buffer.from(host, 'utf8') };
  checkTlv(tlv, 'authority');
  return tlv;
}

/** Fields of an SSL TLV to encode. */
export interface ProxySslFields {
  /** Bits of ProxySslClient. */
  readonly client: number;
  /** 0 when the client certificate was verified. */
  readonly verify: number;
  /** Sub-TLVs, in order (ProxySslSubtype types). */
  readonly subTlvs?: readonly ProxyTlv[];
}

/** An SSL TLV (0x20) from its fields; throws InvalidProxyFieldError if a field does not fit. */
export function sslTlv(fields: ProxySslFields): ProxyTlv {
  if (!Number.isInteger(fields.client) || fields.client < 0 || fields.client > 0xff) {
    throw new InvalidProxyFieldError('ssl.client', `must be a whole number in 0..255, got ${fields.client}`);
  }
  if (!Number.isInteger(fields.verify) || fields.verify < 0 || fields.verify > 0xffffffff) {
    throw new InvalidProxyFieldError('ssl.verify', `must be a whole number in 0..${0xffffffff}, got ${fields.verify}`);
  }
  const subTlvs = fields.subTlvs ?? [];
  subTlvs.forEach((t, i) => checkTlv(t, `ssl.subTlvs[${i}]`));
  const value = Buffer.alloc(PROXY_SSL_FIXED_BYTES + tlvsByteLength(subTlvs));
  value[0] = fields.client;
  value.writeUInt32BE(fields.verify, 1);
  writeTlvs(value, PROXY_SSL_FIXED_BYTES, subTlvs);
  const tlv = { type: ProxyTlvType.Ssl, value };
  checkTlv(tlv, 'ssl');
  return tlv;
}
