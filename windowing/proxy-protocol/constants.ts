/**
 * Wire constants of the PROXY protocol (HAProxy's doc/proxy-protocol.txt, versions 1 and 2) and
 * sluice's limits around it. Each value says whether the spec fixes it or it is our choice.
 * test/windowing/proxy-protocol/constants.test.ts pins every one, so a change is always deliberate.
 */

/** Spec: a version 1 header starts with "PROXY" and exactly one space. */
export const PROXY_V1_PREFIX = 'PROXY ';
/** Spec: the longest v1 line, "PROXY UNKNOWN" with two full IPv6 addresses and ports, is 107 bytes with its CRLF. */
export const PROXY_V1_MAX_BYTES = 107;
/** Spec: the line ends with CR LF, never a lone CR or LF. */
export const PROXY_V1_CRLF = '\r\n';
/** Spec: the protocol tokens of a v1 line. */
export const ProxyV1Protocol = {
  Tcp4: 'TCP4',
  Tcp6: 'TCP6',
  Unknown: 'UNKNOWN',
} as const;
/** One v1 protocol token. */
export type ProxyV1Protocol = (typeof ProxyV1Protocol)[keyof typeof ProxyV1Protocol];

/** Spec: the 12-byte v2 signature; it holds a NUL, so it is not a C string. */
export const PROXY_V2_SIGNATURE: readonly number[] = Object.freeze([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Spec: size of the signature. */
export const PROXY_V2_SIGNATURE_BYTES = PROXY_V2_SIGNATURE.length;
/** Spec: the version/command byte (13th). */
export const PROXY_V2_VERSION_COMMAND_BYTES = 1;
/** Spec: the family/transport byte (14th). */
export const PROXY_V2_FAMILY_BYTES = 1;
/** Spec: the big-endian u16 length of what follows the fixed part (15th and 16th bytes). */
export const PROXY_V2_LENGTH_BYTES = 2;
/** Spec: the fixed part of a v2 header, 16 bytes, computed from its fields. */
export const PROXY_V2_FIXED_BYTES = PROXY_V2_SIGNATURE_BYTES + PROXY_V2_VERSION_COMMAND_BYTES + PROXY_V2_FAMILY_BYTES + PROXY_V2_LENGTH_BYTES;

/** Byte offset of each field of the fixed part (spec). */
export const ProxyV2Offset = {
  signature: 0,
  versionCommand: PROXY_V2_SIGNATURE_BYTES,
  family: PROXY_V2_SIGNATURE_BYTES + PROXY_V2_VERSION_COMMAND_BYTES,
  length: PROXY_V2_SIGNATURE_BYTES + PROXY_V2_VERSION_COMMAND_BYTES + PROXY_V2_FAMILY_BYTES,
} as const;

/** Spec: the high nibble of the 13th byte is the version, always 2. */
export const PROXY_V2_VERSION = 0x2;
/** Spec: the low nibble of the 13th byte is the command; other values are dropped. */
export const ProxyV2Command = {
  /** The proxy's own connection (health check): use the socket's addresses. */
  Local: 0x0,
  /** Relayed on behalf of a client: the block carries the original addresses. */
  Proxy: 0x1,
} as const;
/** One v2 command. */
export type ProxyV2Command = (typeof ProxyV2Command)[keyof typeof ProxyV2Command];

/** Spec: the 14th byte, address family (high nibble) and transport (low nibble); only these values are defined. */
export const ProxyV2Family = {
  Unspec: 0x00,
  Tcp4: 0x11,
  Udp4: 0x12,
  Tcp6: 0x21,
  Udp6: 0x22,
  UnixStream: 0x31,
  UnixDatagram: 0x32,
} as const;
/** One defined family/transport byte. */
export type ProxyV2Family = (typeof ProxyV2Family)[keyof typeof ProxyV2Family];

/** Spec: the length field is a u16, so at most 65535 bytes follow the fixed part. */
export const PROXY_V2_MAX_LENGTH = 0xffff;
/** Spec: the largest v2 header the length field can declare, 65551 bytes. */
export const PROXY_V2_MAX_HEADER_BYTES = PROXY_V2_FIXED_BYTES + PROXY_V2_MAX_LENGTH;

/** Spec: an IPv4 address is 4 bytes in network order. */
export const IPV4_ADDRESS_BYTES = 4;
/** Spec: an IPv6 address is 16 bytes in network order. */
export const IPV6_ADDRESS_BYTES = 16;
/** Spec: a port is a big-endian u16. */
export const PORT_BYTES = 2;
/** Spec: a UNIX address is 108 bytes (sun_path), NUL-padded. */
export const UNIX_ADDRESS_BYTES = 108;
/** Spec: source and destination address then ports, 12 bytes for IPv4. */
export const PROXY_V2_INET_BLOCK_BYTES = 2 * IPV4_ADDRESS_BYTES + 2 * PORT_BYTES;
/** Spec: 36 bytes for IPv6. */
export const PROXY_V2_INET6_BLOCK_BYTES = 2 * IPV6_ADDRESS_BYTES + 2 * PORT_BYTES;
/** Spec: 216 bytes for UNIX, no ports. */
export const PROXY_V2_UNIX_BLOCK_BYTES = 2 * UNIX_ADDRESS_BYTES;

/** Spec: a TLV is type (u8), length (u16 BE), value. */
export const PROXY_TLV_HEADER_BYTES = 3;
/** Spec: a TLV value is at most what its u16 length can say. */
export const PROXY_TLV_MAX_VALUE_BYTES = 0xffff;

/** Spec: registered TLV types. */
export const ProxyTlvType = {
  Alpn: 0x01,
  Authority: 0x02,
  Crc32c: 0x03,
  Noop: 0x04,
  UniqueId: 0x05,
  Ssl: 0x20,
  Netns: 0x30,
} as const;
/** One registered TLV type. */
export type ProxyTlvType = (typeof ProxyTlvType)[keyof typeof ProxyTlvType];

/** Spec: sub-TLV types inside an SSL TLV. */
export const ProxySslSubtype = {
  Version: 0x21,
  CommonName: 0x22,
  Cipher: 0x23,
  SignatureAlgorithm: 0x24,
  KeyAlgorithm: 0x25,
  Group: 0x26,
  SignatureScheme: 0x27,
  ClientCertificate: 0x28,
} as const;
/** One SSL sub-TLV type. */
export type ProxySslSubtype = (typeof ProxySslSubtype)[keyof typeof ProxySslSubtype];

/** Spec: bits of the SSL TLV's `client` byte. */
export const ProxySslClient = {
  Ssl: 0x01,
  CertConnection: 0x02,
  CertSession: 0x04,
} as const;

/** Spec: an SSL TLV value starts with `client` (u8) and `verify` (u32 BE) before its sub-TLVs. */
export const PROXY_SSL_FIXED_BYTES = 1 + 4;
/** Spec: a CRC32C TLV value is exactly 4 bytes, big-endian. */
export const PROXY_CRC32C_BYTES = 4;
/** Spec: a UNIQUE_ID value is at most 128 bytes. */
export const PROXY_UNIQUE_ID_MAX_BYTES = 128;

/** Spec: TLV types reserved for applications (AWS uses 0xEA); kept and passed on as raw bytes. */
export const PROXY_TLV_CUSTOM_MIN = 0xe0;
/** Spec: last application TLV type. */
export const PROXY_TLV_CUSTOM_MAX = 0xef;
/** Spec: TLV types reserved for experiments. */
export const PROXY_TLV_EXPERIMENT_MIN = 0xf0;
/** Spec: last experimental TLV type. */
export const PROXY_TLV_EXPERIMENT_MAX = 0xf7;
/** Spec: TLV types reserved for future use (multi-byte types). */
export const PROXY_TLV_FUTURE_MIN = 0xf8;

/**
 * Our choice: a v2 header (fixed part included) of at most 4 KiB is accepted, decided from the
 * length field before the payload is awaited. The spec's examples fit one 536-byte segment; an SSL
 * TLV carrying a client certificate (1-2 KiB of DER) is the largest thing seen in the wild, and
 * go-proxyproto caps the length field at 4096 for the same reason. HAProxy's own cap is its 16 KiB
 * buffer, and it refuses any single TLV value over 1 KiB.
 */
export const DEFAULT_MAX_PROXY_HEADER_BYTES = 4096;
/** Our choice: the smallest configurable maximum still admits a UNIX address block, so every family fits. */
export const MIN_MAX_PROXY_HEADER_BYTES = PROXY_V2_FIXED_BYTES + PROXY_V2_UNIX_BLOCK_BYTES;
