import { isIP } from 'node:net';

/** Where to listen or connect: a TCP host and port, or a unix socket path. */
export type Address =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

/**
 * Parses `HOST:PORT`, `[v6]:PORT` or `unix:/path`. Port 0 is allowed (listen on any free port).
 * Throws a RangeError whose message says what was expected.
 */
export function parseAddress(text: string): Address {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new RangeError(`expected unix:/path/to/socket, got "${text}"`);
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new RangeError(`expected HOST:PORT, [IPv6]:PORT or unix:/path, got "${text}"`);
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6) throw new RangeError(`"${host}" in "${text}" is not an IPv6 address`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`port ${port} in "${text}" is above 65535`);
  return { kind: 'tcp', host, port };
}

/** Formats an address the way parseAddress reads it (IPv6 hosts in brackets). */
export function formatAddress(address: Address): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  // Only an IPv6 address holds a colon (parseAddress takes none in a name): no isIP() per connection.
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Options for `net.connect` / `server.listen` that reach this address. */
export function socketOptions(address: Address): { host: string; port: number } | { path: string } {
  return address.kind === 'unix' ? { path: address.path } : { host: address.host, port: address.port };
}

/** True when the address can only be reached from this machine (loopback or a unix socket). */
export function isLoopback(address: Address): boolean {
  if (address.kind === 'unix') return true;
  const h = address.host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** How the access log names a connected socket's peer: HOST:PORT, or `unix`. */
export function describePeer(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  if (socket.remoteAddress === undefined) return 'unix';
  return formatAddress({ kind: 'tcp', host: socket.remoteAddress, port: socket.remotePort ?? 0 });
}

/** One end of a connection as a socket reports it; `address` is undefined for a unix socket (or once it is gone). */
export interface Endpoint {
  readonly address: string | undefined;
  readonly port: number | undefined;
}

/** Who a connection came from and what it reached, as its arrival knows it. */
export interface ClientEndpoint {
  /** How the access log names the client (until a PROXY header says otherwise). */
  readonly text: string;
  /** The client's end: trusted or not for a PROXY header, and what a header sent on says. */
  readonly source: Endpoint;
  /** The address the client reached. */
  readonly destination: Endpoint;
}

/** What clientEndpointOf reads from a socket. */
interface EndpointSource {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
}

/**
 * The endpoints of an accepted socket. The address the client reached is looked up when first
 * asked for (a system call per connection that only the PROXY protocol needs), so ask while the
 * socket is open.
 */
export function clientEndpointOf(socket: EndpointSource): ClientEndpoint {
  return new AcceptedEndpoint(socket);
}

// A class, not a literal with a getter: one shape for every connection, no closure each.
class AcceptedEndpoint implements ClientEndpoint {
  readonly text: string;
  readonly source: Endpoint;
  private reached: Endpoint | null = null;

  constructor(private readonly socket: EndpointSource) {
    this.text = describePeer(socket);
    this.source = { address: socket.remoteAddress, port: socket.remotePort };
  }

  get destination(): Endpoint {
    this.reached ??= { address: this.socket.localAddress, port: this.socket.localPort };
    return this.reached;
  }
}
