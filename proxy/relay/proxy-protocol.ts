import { encodeProxyV1, encodeProxyV2 } from '../../windowing/proxy-protocol/encoder.js';
import { passThroughTlvs, uniqueIdTlv } from '../../windowing/proxy-protocol/tlv.js';
import { proxyAddressesFor } from '../../windowing/proxy-protocol/endpoints.js';
import { ProxyHeaderIncompleteError, type ProxyHeaderError } from '../../windowing/proxy-protocol/errors.js';
import { DEFAULT_MAX_PROXY_HEADER_BYTES, ProxyTlvType } from '../../windowing/proxy-protocol/constants.js';
import type { ProxyAddresses, ProxyHeader } from '../../windowing/proxy-protocol/header.js';
import { formatAddress, type ClientEndpoint } from '../net/address.js';
import { CidrList } from '../net/cidr.js';
import type { MetricsRegistry } from '../signals/metrics.js';

/** The PROXY protocol settings of a sidecar (`--accept-proxy`, `--accept-proxy-from`, `--proxy-header-timeout`, `--send-proxy`). */
export interface ProxyProtocolOptions {
  /** Every client connection must start with a v1 or v2 header. */
  accept: boolean;
  /** Only these sources may send one; others are closed (null: any source). */
  trusted: CidrList | null;
  /** The whole header must arrive within this long. */
  headerTimeoutMs: number;
  /** Write a header to the target at the start of each connection. */
  send: 'v1' | 'v2' | null;
}

/** How an accepted connection's header ended, the `result` label of `sluice_proxy_headers_total`. */
export type ProxyHeaderResult = 'v1' | 'v2' | 'local' | 'invalid' | 'timeout' | 'untrusted' | 'empty' | 'aborted';

/** The access log's `end` for a connection closed over its header. */
export type ProxyHeaderRefusal = 'proxy-header-invalid' | 'proxy-header-timeout' | 'proxy-header-untrusted';

/**
 * The connection table's PROXY protocol decisions: whether a source may send a header, what an
 * outcome means for the access log and the counters, whom the header makes the client, and the
 * header to send on. The bytes themselves are windowing/proxy-protocol's.
 */
export class ProxyProtocol {
  private readonly counts = new Map<ProxyHeaderResult, number>();

  constructor(readonly options: ProxyProtocolOptions) {}

  /** Null when `endpoint` may send a header, else why it is turned away (counted). */
  untrusted(endpoint: ClientEndpoint): ProxyHeaderRefusal | null {
    if (this.options.trusted === null || this.options.trusted.allows(endpoint.source.address)) return null;
    this.count('untrusted');
    return 'proxy-header-untrusted';
  }

  /**
   * The access log's end for a header that failed (counted). A connection closed (FIN) before its
   * first byte is a monitor's TCP check, not a broken header: `empty`, and it ended `closed`.
   */
  refusalFor(error: ProxyHeaderError): ProxyHeaderRefusal | 'closed' {
    if (error instanceof ProxyHeaderIncompleteError && error.ending === 'end' && error.receivedBytes === 0) {
      this.count('empty');
      return 'closed';
    }
    const late = error instanceof ProxyHeaderIncompleteError && error.ending === 'deadline';
    this.count(late ? 'timeout' : 'invalid');
    return late ? 'proxy-header-timeout' : 'proxy-header-invalid';
  }

  /** A connection closed while its header was awaited (the client reset, a shutdown, the API's DELETE): counted, so the results add up to the connections asked for one. */
  abandoned(): void {
    this.count('aborted');
  }

  /** Counts an accepted header and says how the access log names the client from now on. */
  accepted(header: ProxyHeader, endpoint: ClientEndpoint): string {
    this.count(header.kind === 'local' ? 'local' : header.version === 1 ? 'v1' : 'v2');
    if (header.kind === 'tcp4' || header.kind === 'tcp6') return formatAddress({ kind: 'tcp', host: header.source.address, port: header.source.port });
    if (header.kind === 'unix') return 'unix';
    return endpoint.text;
  }

  /**
   * The header to write to the target before any byte of the client's: the addresses an accepted
   * header gave (else the client socket's own), and for v2 the accepted header's TLVs plus
   * `uniqueId` as UNIQUE_ID when it had none. Null when nothing is to be sent.
   */
  headerToSend(endpoint: ClientEndpoint, accepted: ProxyHeader | null, uniqueId: string): Buffer | null {
    const version = this.options.send;
    if (version === null) return null;
    const addresses: ProxyAddresses =
      accepted !== null && accepted.kind !== 'local' && accepted.kind !== 'unknown' ? accepted : proxyAddressesFor(endpoint.source, endpoint.destination);
    const tcp = addresses.kind === 'tcp4' || addresses.kind === 'tcp6';
    if (version === 'v1') return encodeProxyV1(tcp ? addresses : { kind: 'unknown' });
    const tlvs = accepted !== null ? passThroughTlvs(accepted) : [];
    // Only TCP addresses go as PROXY; anything else (a unix client, UNSPEC) as LOCAL, the receiver
    // using the connection's own addresses, as HAProxy sends it: HAProxy 2.6 refuses PROXY with
    // UNSPEC or UNIX.
    const sent: ProxyAddresses = tcp ? addresses : { kind: 'local' };
    if (tlvs.some((t) => t.type === ProxyTlvType.UniqueId)) return encodeProxyV2(sent, tlvs);
    const header = encodeProxyV2(sent, [...tlvs, uniqueIdTlv(uniqueId)]);
    // The id is a "may": not where it would make the header one the next hop (a sluice, with the
    // decoder's default limit) refuses as too large, when the accepted TLVs already fill it.
    return header.length <= DEFAULT_MAX_PROXY_HEADER_BYTES ? header : encodeProxyV2(sent, tlvs);
  }

  /** Adds `sluice_proxy_headers_total{result}`. */
  registerMetrics(registry: MetricsRegistry): void {
    registry.counter('sluice_proxy_headers_total', 'PROXY protocol headers on accepted connections, by result (v1, v2, local, invalid, timeout, untrusted, empty, aborted).', () =>
      [...this.counts].map(([result, value]) => ({ labels: { result }, value })),
    );
  }

  private count(result: ProxyHeaderResult): void {
    this.counts.set(result, (this.counts.get(result) ?? 0) + 1);
  }
}

/**
 * The PROXY protocol settings a sidecar's options ask for, or undefined when they ask for none.
 * Throws a RangeError naming `acceptProxyFrom` for a prefix list that does not parse.
 */
export function proxyProtocolFrom(options: {
  acceptProxy?: boolean;
  acceptProxyFrom?: string;
  proxyHeaderTimeoutMs?: number;
  sendProxy?: 'v1' | 'v2';
}, defaultTimeoutMs: number): ProxyProtocol | undefined {
  const accept = options.acceptProxy === true || options.acceptProxyFrom !== undefined;
  if (!accept && options.sendProxy === undefined) return undefined;
  let trusted: CidrList | null = null;
  if (options.acceptProxyFrom !== undefined) {
    try {
      trusted = new CidrList(options.acceptProxyFrom);
    } catch (err) {
      throw new RangeError(`acceptProxyFrom: ${(err as Error).message}`);
    }
  }
  return new ProxyProtocol({ accept, trusted, headerTimeoutMs: options.proxyHeaderTimeoutMs ?? defaultTimeoutMs, send: options.sendProxy ?? null });
}
