import { expect } from 'chai';
import { encodeProxyV1, encodeProxyV2, InvalidProxyFieldError, ProxyHeaderDecoder, proxyAddressesFor, type SocketEndpoint } from '../../../windowing/index.js';

const at = (address: string | undefined, port: number | undefined): SocketEndpoint => ({ address, port });

describe('proxyAddressesFor (socket addresses -> header addresses)', () => {
  const cases: [string, SocketEndpoint, SocketEndpoint, string, string][] = [
    ['IPv4 client on an IPv4 listener', at('1.2.3.4', 5000), at('10.0.0.1', 80), 'tcp4 1.2.3.4:5000 -> 10.0.0.1:80', 'PROXY TCP4 1.2.3.4 10.0.0.1 5000 80\r\n'],
    [
      'IPv4 client on a dual-stack IPv6 listener (Node reports ::ffff:a.b.c.d): TCP4, not TCP6 (the curl bug)',
      at('::ffff:1.2.3.4', 5000),
      at('::ffff:127.0.0.1', 80),
      'tcp4 1.2.3.4:5000 -> 127.0.0.1:80',
      'PROXY TCP4 1.2.3.4 127.0.0.1 5000 80\r\n',
    ],
    ['mapped written in hex groups is still IPv4', at('::FFFF:102:304', 1), at('::ffff:7f00:1', 2), 'tcp4 1.2.3.4:1 -> 127.0.0.1:2', 'PROXY TCP4 1.2.3.4 127.0.0.1 1 2\r\n'],
    ['IPv6 client on an IPv6 listener', at('2001:db8::1', 1), at('2001:db8::2', 2), 'tcp6 2001:db8::1:1 -> 2001:db8::2:2', 'PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n'],
    [
      'mixed: an IPv4 client forwarded towards an IPv6 address is TCP6 with the client mapped',
      at('1.2.3.4', 1),
      at('2001:db8::2', 2),
      'tcp6 ::ffff:1.2.3.4:1 -> 2001:db8::2:2',
      'PROXY TCP6 ::ffff:102:304 2001:db8::2 1 2\r\n',
    ],
    ['a link-local address loses its zone (a header has no room for it)', at('fe80::1%eth0', 1), at('fe80::2%2', 2), 'tcp6 fe80::1:1 -> fe80::2:2', 'PROXY TCP6 fe80::1 fe80::2 1 2\r\n'],
    ['the IPv4-compatible form ::a.b.c.d is IPv6, not IPv4', at('::1.2.3.4', 1), at('::1', 2), 'tcp6 ::1.2.3.4:1 -> ::1:2', 'PROXY TCP6 ::102:304 ::1 1 2\r\n'],
    ['the loopback pair', at('127.0.0.1', 40000), at('127.0.0.1', 8080), 'tcp4 127.0.0.1:40000 -> 127.0.0.1:8080', 'PROXY TCP4 127.0.0.1 127.0.0.1 40000 8080\r\n'],
  ];
  for (const [name, source, destination, described, line] of cases) {
    it(`${name}: ${described}`, () => {
      const addresses = proxyAddressesFor(source, destination);
      expect(addresses.kind === 'unknown' ? 'unknown' : `${addresses.kind} ${addresses.source.address}:${addresses.source.port} -> ${addresses.destination.address}:${addresses.destination.port}`).to.equal(described);
      expect(encodeProxyV1(addresses).toString('latin1')).to.equal(line);
      const back = new ProxyHeaderDecoder().push(encodeProxyV2(addresses));
      expect(back.kind === 'header' && back.header.kind === addresses.kind && back.header.kind !== 'unknown' && back.header).to.deep.include(addresses);
    });
  }

  for (const [name, source, destination] of [
    ['the client address is gone (socket destroyed)', at(undefined, 1), at('1.2.3.4', 2)],
    ['the local port is gone', at('1.2.3.4', 1), at('1.2.3.4', undefined)],
  ] as const) {
    it(`${name}: unknown, as the spec says when the line cannot be filled`, () => {
      const addresses = proxyAddressesFor(source, destination);
      expect(addresses).to.deep.equal({ kind: 'unknown' });
      expect(encodeProxyV1(addresses).toString()).to.equal('PROXY UNKNOWN\r\n');
    });
  }

  for (const [name, source, destination, field] of [
    ['a host name', at('localhost', 1), at('1.2.3.4', 2), 'source.address'],
    ['a bracketed IPv6 address', at('1.2.3.4', 1), at('[::1]', 2), 'destination.address'],
    ['a port past 65535', at('1.2.3.4', 70000), at('1.2.3.4', 2), 'source.port'],
    ['a negative port', at('1.2.3.4', 1), at('1.2.3.4', -1), 'destination.port'],
  ] as const) {
    it(`refuses ${name}: InvalidProxyFieldError on ${field}`, () => {
      expect(() => proxyAddressesFor(source, destination)).to.throw(InvalidProxyFieldError).with.property('field', field);
    });
  }
});
