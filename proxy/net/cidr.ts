import { BlockList, isIP } from 'node:net';

/**
 * `--accept-proxy-from CIDR[,CIDR...]`: the sources allowed to send a PROXY header. IPv4 and IPv6
 * prefixes (`10.0.0.0/8`, `2001:db8::/32`, a bare address is a /32 or /128) and `unix` for
 * connections over unix sockets. An IPv4 client seen on a dual-stack listener as `::ffff:1.2.3.4`
 * matches the IPv4 prefixes.
 */
export class CidrList {
  private readonly blocks = new BlockList();
  private unix = false;
  /** The list as given, for messages. */
  readonly text: string;

  /** Parses a comma-separated list; throws a RangeError naming the entry that is not a prefix. */
  constructor(text: string) {
    this.text = text;
    const entries = text.split(',').map((e) => e.trim());
    if (entries.some((e) => e === '')) throw new RangeError(`expected CIDR[,CIDR...], got "${text}"`);
    for (const entry of entries) {
      if (entry === 'unix') {
        this.unix = true;
        continue;
      }
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      if (family === 0) throw new RangeError(`"${entry}" is not an IPv4 or IPv6 prefix (or unix)`);
      const max = family === 4 ? 32 : 128;
      const prefixText = slash === -1 ? String(max) : entry.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > max) throw new RangeError(`"${entry}": the prefix length must be 0..${max}`);
      this.blocks.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** True when a connection from `address` (undefined: a unix socket) may send a header. */
  allows(address: string | undefined): boolean {
    if (address === undefined) return this.unix;
    const family = isIP(address);
    if (family === 0) return false;
    return this.blocks.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
