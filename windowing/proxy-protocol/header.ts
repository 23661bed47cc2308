/**
 * The PROXY header as a value, and the one formatter for it (logs and test titles alike).
 *
 * `kind` says what the receiver should do with the connection's addresses:
 *   tcp4 / tcp6 / unix  use `source` and `destination` from the header;
 *   unknown             (v1 UNKNOWN, v2 PROXY with UNSPEC) use the socket's own addresses;
 *   local               (v2 LOCAL: the sender's own connection, e.g. a health check) likewise.
 * Everything in a decoded header is its own memory: nothing points into the pushed chunks.
 */
import { ProxyTlvType } from './constants.js';

/** One TLV of a v2 header: type byte and value bytes, kept as they came so they can be passed on. */
export interface ProxyTlv {
  /** Type byte, 0..255. */
  readonly type: number;
  /** Value bytes, at most 65535. */
  readonly value: Buffer;
}

/** An IP endpoint: address text as Node writes a socket's address, and a port. */
export interface ProxyIpEndpoint {
  /** `1.2.3.4` for tcp4; `2001:db8::1` or `::ffff:1.2.3.4` for tcp6. */
  readonly address: string;
  /** 0..65535. */
  readonly port: number;
}

/** A UNIX endpoint: the 108-byte sun_path without its trailing NUL padding (a leading NUL is an abstract name). */
export interface ProxyUnixEndpoint {
  /** Path bytes, at most 108. */
  readonly path: Buffer;
}

/** TCP over IPv4 or IPv6: the client's and the address it connected to. */
export interface ProxyTcpAddresses {
  readonly kind: 'tcp4' | 'tcp6';
  readonly source: ProxyIpEndpoint;
  readonly destination: ProxyIpEndpoint;
}

/** A UNIX stream socket's two paths (v2 only). */
export interface ProxyUnixAddresses {
  readonly kind: 'unix';
  readonly source: ProxyUnixEndpoint;
  readonly destination: ProxyUnixEndpoint;
}

/** Relayed, but the sender could not say from where (v1 UNKNOWN, v2 PROXY + UNSPEC): use the socket's addresses. */
export interface ProxyUnknownAddresses {
  readonly kind: 'unknown';
}

/** v2 LOCAL: the sender's own connection (health check); use the socket's addresses. */
export interface ProxyLocalAddresses {
  readonly kind: 'local';
}

/** What a header says about the connection's endpoints; also the encoder's input. */
export type ProxyAddresses = ProxyTcpAddresses | ProxyUnixAddresses | ProxyUnknownAddresses | ProxyLocalAddresses;

/** The SSL TLV (0x20): how the client reached the sender. */
export interface ProxySslInfo {
  /** Bits of ProxySslClient: connected over TLS, certificate on this connection, on the session. */
  readonly client: number;
  /** 0 when the client's certificate was presented and verified. */
  readonly verify: number;
  /** Sub-TLVs in wire order, raw. */
  readonly subTlvs: readonly ProxyTlv[];
  /** TLS version text, e.g. `TLSv1.3` (sub-TLV 0x21). */
  readonly version?: string;
  /** Client certificate's Common Name (0x22). */
  readonly commonName?: string;
  /** Cipher name (0x23). */
  readonly cipher?: string;
  /** Signature algorithm of the sender's certificate (0x24). */
  readonly signatureAlgorithm?: string;
  /** Key algorithm of the sender's certificate (0x25). */
  readonly keyAlgorithm?: string;
  /** Key exchange group (0x26). */
  readonly group?: string;
  /** Signature scheme (0x27). */
  readonly signatureScheme?: string;
  /** Client certificate, DER (0x28). */
  readonly clientCertificate?: Buffer;
}

/** What every decoded header carries besides its addresses; the known TLVs are also parsed out (first of each type). */
export interface ProxyHeaderDetails {
  /** 1 (text line) or 2 (binary). */
  readonly version: 1 | 2;
  /** Bytes the header took on the wire, CRLF or TLVs included. */
  readonly byteLength: number;
  /** Every TLV in wire order, known or not (v2; empty for v1). */
  readonly tlvs: readonly ProxyTlv[];
  /** ALPN bytes (0x01), e.g. `h2`. */
  readonly alpn?: Buffer;
  /** Host name the client asked for (0x02), e.g. its TLS SNI. */
  readonly authority?: string;
  /** The header's CRC32C (0x03), present only if it matched. */
  readonly crc32c?: number;
  /** The sender's id for the connection (0x05), at most 128 bytes. */
  readonly uniqueId?: Buffer;
  /** Network namespace name (0x30). */
  readonly netns?: string;
  /** TLS details (0x20). */
  readonly ssl?: ProxySslInfo;
}

/** A decoded PROXY protocol header. */
export type ProxyHeader = ProxyAddresses & ProxyHeaderDetails;

const TLV_NAMES: Record<number, string> = {
  [ProxyTlvType.Alpn]: 'alpn',
  [ProxyTlvType.Authority]: 'authority',
  [ProxyTlvType.Crc32c]: 'crc32c',
  [ProxyTlvType.Noop]: 'noop',
  [ProxyTlvType.UniqueId]: 'unique-id',
  [ProxyTlvType.Ssl]: 'ssl',
  [ProxyTlvType.Netns]: 'netns',
};

/** Names a TLV type, e.g. `authority`, or `0xea` for one the spec does not register. */
export function describeTlvType(type: number): string {
  return TLV_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

function describeIp(endpoint: ProxyIpEndpoint): string {
  return endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

function describeUnix(endpoint: ProxyUnixEndpoint): string {
  const path = endpoint.path;
  if (path.length > 0 && path[0] === 0) return `@${path.subarray(1).toString('latin1')}`;
  return path.toString('latin1');
}

/** Describes addresses, e.g. `tcp4 192.168.0.1:56324 -> 192.168.0.11:443`, `local`, `unknown`. */
export function describeProxyAddresses(addresses: ProxyAddresses): string {
  switch (addresses.kind) {
    case 'tcp4':
    case 'tcp6':
      return `${addresses.kind} ${describeIp(addresses.source)} -> ${describeIp(addresses.destination)}`;
    case 'unix':
      return `unix ${describeUnix(addresses.source)} -> ${describeUnix(addresses.destination)}`;
    default:
      return addresses.kind;
  }
}

/** Describes a header for logs and test titles, e.g. `v2 tcp4 1.2.3.4:5 -> 6.7.8.9:80, 52 bytes, tlvs: unique-id`. */
export function describeProxyHeader(header: ProxyHeader): string {
  const tlvs = header.tlvs.length === 0 ? '' : `, tlvs: ${header.tlvs.map((t) => describeTlvType(t.type)).join(',')}`;
  return `v${header.version} ${describeProxyAddresses(header)}, ${header.byteLength} bytes${tlvs}`;
}
