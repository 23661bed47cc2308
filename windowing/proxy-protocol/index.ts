/**
 * The PROXY protocol half of windowing/ (HAProxy's doc/proxy-protocol.txt, v1 and v2): wire
 * constants, an incremental header decoder, encoders, and the socket-address helper for senders.
 * Pure like the rest: the caller owns the socket, the header deadline and the trusted-source list.
 *
 * Receiving (nothing of the connection is forwarded before `header`):
 *   const decoder = new ProxyHeaderDecoder();
 *   on data:      const r = decoder.push(chunk);
 *                 need-more -> keep reading; error -> log r.error.code, close;
 *                 header    -> addresses from r.header (kind local/unknown: the socket's own),
 *                              forward r.rest (a view of chunk) and everything after
 *   on end:       log decoder.end('end'), close      on deadline: log decoder.end('deadline'), close
 * Sending (the header is written before any byte of the connection):
 *   const addresses = proxyAddressesFor({ address: s.remoteAddress, port: s.remotePort }, { address: s.localAddress, port: s.localPort });
 *   upstream.write(version === 'v1' ? encodeProxyV1(addresses) : encodeProxyV2(addresses, passThroughTlvs(accepted)));
 */
export * from './constants.js';
export {
  ProxyHeaderError,
  ProxyHeaderInvalidError,
  ProxyHeaderInvalidReason,
  ProxyHeaderTooLargeError,
  ProxyHeaderUnsupportedError,
  ProxyHeaderIncompleteError,
  InvalidProxyFieldError,
  ProxyDecoderStateError,
} from './errors.js';
export {
  describeProxyHeader,
  describeProxyAddresses,
  describeTlvType,
  type ProxyHeader,
  type ProxyHeaderDetails,
  type ProxyAddresses,
  type ProxyTcpAddresses,
  type ProxyUnixAddresses,
  type ProxyUnknownAddresses,
  type ProxyLocalAddresses,
  type ProxyIpEndpoint,
  type ProxyUnixEndpoint,
  type ProxySslInfo,
  type ProxyTlv,
} from './header.js';
export { ProxyHeaderDecoder, type ProxyDecodeResult, type ProxyHeaderDecoderOptions } from './decoder.js';
export { ProxyDecoderState } from './measure.js';
export { encodeProxyV1, encodeProxyV2, type ProxyV1Addresses, type ProxyV2EncodeOptions } from './encoder.js';
export { passThroughTlvs, uniqueIdTlv, authorityTlv, sslTlv, type ProxySslFields } from './tlv.js';
export { proxyAddressesFor, type SocketEndpoint } from './endpoints.js';
export { crc32c, CRC32C_POLYNOMIAL } from './crc32c.js';
