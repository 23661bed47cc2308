/**
 * From a socket's addresses to a header's. An IPv4 client accepted on a dual-stack IPv6 listener
 * shows up in Node as `::ffff:1.2.3.4` (family IPv6); writing that as TCP6, or writing dotted
 * quads under TCP6, is the wrong-family bug curl shipped. Here the family follows the addresses,
 * not the listener: both IPv4 (plain or mapped) gives TCP4 with dotted quads; otherwise TCP6,
 * with any IPv4 one mapped into IPv6.
 */
import { InvalidProxyFieldError } from './errors.js';
import type { ProxyTcpAddresses, ProxyUnknownAddresses } from './header.js';
import { formatIPv4, formatIPv6, isIPv4Mapped, parseIPv4Text, parseIPv6Text } from './ip.js';

/** An address as a socket reports it (`remoteAddress`/`remotePort`, `localAddress`/`localPort`); undefined once it is gone. */
export interface SocketEndpoint {
  readonly address: string | undefined;
  readonly port: number | undefined;
}

/** The 16 IPv6 bytes of an address, IPv4 mapped into ::ffff:0:0/96; a zone (`%eth0`) is dropped, a header has no room for it. */
function toIPv6Bytes(field: string, address: string): Uint8Array {
  const v4 = parseIPv4Text(address);
  if (v4 !== null) {
    const mapped = new Uint8Array(16);
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped.set(v4, 12);
    return mapped;
  }
  const zone = address.indexOf('%');
  const v6 = parseIPv6Text(zone === -1 ? address : address.slice(0, zone));
  if (v6 === null) throw new InvalidProxyFieldError(`${field}.address`, `"${address}" is not an IP address`);
  return v6;
}

function checkPort(field: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new InvalidProxyFieldError(`${field}.port`, `must be a port in 0..65535, got ${port}`);
}

/**
 * The header addresses for a connection from `source` (the client, e.g. the accepted socket's
 * remote end) to `destination` (e.g. its local end): tcp4 when both are IPv4 or IPv4-mapped,
 * else tcp6; `unknown` when either is undefined (the spec's answer when the line cannot be filled).
 */
export function proxyAddressesFor(source: SocketEndpoint, destination: SocketEndpoint): ProxyTcpAddresses | ProxyUnknownAddresses {
  if (source.address === undefined || source.port === undefined || destination.address === undefined || destination.port === undefined) {
    return { kind: 'unknown' };
  }
  checkPort('source', source.port);
  checkPort('destination', destination.port);
  const from = toIPv6Bytes('source', source.address);
  const to = toIPv6Bytes('destination', destination.address);
  if (isIPv4Mapped(from) && isIPv4Mapped(to)) {
    return {
      kind: 'tcp4',
      source: { address: formatIPv4(from, 12), port: source.port },
      destination: { address: formatIPv4(to, 12), port: destination.port },
    };
  }
  return {
    kind: 'tcp6',
    source: { address: formatIPv6(from), port: source.port },
    destination: { address: formatIPv6(to), port: destination.port },
  };
}
