/**
 * Shared material for the PROXY header tests: the vectors (spec examples, HAProxy's reg-tests, AWS
 * NLB captures), a driver that pushes chunks through a decoder, the shape the naive parser reports
 * headers in, and fast-check arbitraries for headers.
 */
import fc from 'fast-check';
import {
  encodeProxyV1,
  encodeProxyV2,
  ProxyHeaderDecoder,
  sslTlv,
  uniqueIdTlv,
  type ProxyAddresses,
  type ProxyDecodeResult,
  type ProxyHeader,
  type ProxyHeaderDecoderOptions,
  type ProxyTlv,
} from '../../windowing/index.js';
import type { NaiveHeader } from './naive-proxy-header.js';

/** Bytes from a hex string with any whitespace. */
export function hexBytes(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Spec: the v2 signature, as hex. */
export const V2_SIGNATURE_HEX = '0d0a0d0a000d0a515549540a';

/** A named header on the wire and what follows it on the connection. */
export interface ProxyVector {
  name: string;
  header: Buffer;
  after: Buffer;
}

/** AWS NLB capture (aws/elastic-load-balancing-tools, via go-proxyproto's tlvparse tests): TCP4, CRC32C, 0xEA VPC endpoint id, NOOP. */
export const AWS_NLB_VPCE = hexBytes(`
  0d0a0d0a 000d0a51 5549540a 21110054
  ac1f0771 ac1f0a1f c8f20050 030004e8
  d6892dea 00170176 7063652d 30386432
  62663135 66616335 30303163 39040024
  ${'00'.repeat(36)}`);

/** A second AWS NLB capture from the same source, different addresses and CRC. */
export const AWS_NLB_CAPTURE = hexBytes(`
  0d0a0d0a 000d0a51 5549540a 21110054
  c0a82c0a c0a82c07 cc3e241b 030004b9
  286fa6ea 00170176 7063652d 30306561
  66633435 38656339 37623833 33040024
  ${'00'.repeat(36)}`);

/** HAProxy reg-test (proxy_protocol_tlv_validation.vtc): TCP4 127.0.0.1:42 -> 127.0.0.1:1337, AUTHORITY "12345". */
export const HAPROXY_AUTHORITY = hexBytes(`${V2_SIGNATURE_HEX} 21 11 0014 7f000001 7f000001 002a 0539 020005 3132333435`);

/** HAProxy reg-test (unique-id-from-proxy.vtc): the same addresses, UNIQUE_ID "12345". */
export const HAPROXY_UNIQUE_ID = hexBytes(`${V2_SIGNATURE_HEX} 21 11 0014 7f000001 7f000001 002a 0539 050005 3132333435`);

const ssl = sslTlv({
  client: 0x07,
  verify: 0,
  subTlvs: [
    { type: 0x21, value: Buffer.from('TLSv1.3') },
    { type: 0x22, value: Buffer.from('client.example') },
    { type: 0x23, value: Buffer.from('TLS_AES_128_GCM_SHA256') },
  ],
});

/** Every vector the chunking matrix runs, each followed by some of the connection's own bytes. */
export function proxyVectors(): ProxyVector[] {
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n');
  const tcp4: ProxyAddresses = { kind: 'tcp4', source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 } };
  const tcp6: ProxyAddresses = { kind: 'tcp6', source: { address: '2001:db8::1', port: 65535 }, destination: { address: '::ffff:1.2.3.4', port: 0 } };
  const unix: ProxyAddresses = { kind: 'unix', source: { path: Buffer.from('/run/client.sock') }, destination: { path: Buffer.from('\0abstract') } };
  const tlvs: ProxyTlv[] = [{ type: 0x01, value: Buffer.from('h2') }, { type: 0x02, value: Buffer.from('example.com') }, uniqueIdTlv('id-1'), ssl, { type: 0x30, value: Buffer.from('ns0') }, { type: 0xea, value: Buffer.from([1, 2, 3]) }];
  return [
    { name: 'spec v1 example: TCP4 before an HTTP request', header: Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'), after: http },
    { name: 'spec v1 longest TCP4 line (56 bytes)', header: Buffer.from('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'), after: http },
    { name: 'spec v1 longest TCP6 line (104 bytes)', header: Buffer.from(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), after: http },
    { name: 'spec v1 UNKNOWN short form (15 bytes)', header: Buffer.from('PROXY UNKNOWN\r\n'), after: http },
    { name: 'spec v1 UNKNOWN worst case (107 bytes)', header: Buffer.from(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), after: http },
    { name: 'HAProxy reg-test v2 AUTHORITY, then a TLV-looking byte string that is data', header: HAPROXY_AUTHORITY, after: Buffer.concat([hexBytes('020005 3534333231'), http]) },
    { name: 'HAProxy reg-test v2 UNIQUE_ID', header: HAPROXY_UNIQUE_ID, after: http },
    { name: 'AWS NLB capture: CRC32C, 0xEA, NOOP', header: AWS_NLB_VPCE, after: http },
    { name: 'v2 TCP4 with every known TLV and CRC32C', header: encodeProxyV2(tcp4, tlvs, { crc32c: true }), after: http },
    { name: 'v2 TCP6', header: encodeProxyV2(tcp6), after: http },
    { name: 'v2 UNIX stream', header: encodeProxyV2(unix, [uniqueIdTlv('u')]), after: http },
    { name: 'v2 LOCAL', header: encodeProxyV2({ kind: 'local' }), after: http },
    { name: 'v2 PROXY UNSPEC', header: encodeProxyV2({ kind: 'unknown' }, [{ type: 0xe0, value: Buffer.alloc(0) }]), after: http },
    { name: 'v1 TCP6 from the encoder', header: encodeProxyV1(tcp6 as Extract<ProxyAddresses, { kind: 'tcp6' }>), after: Buffer.alloc(0) },
  ];
}

/** What pushing a sequence of chunks came to. */
export interface PushOutcome {
  /** The last result: the first that was not need-more, or need-more if all were. */
  result: ProxyDecodeResult;
  /** Pushes made up to and including the one that gave `result`. */
  pushes: number;
  /** `rest` of a header result followed by every chunk not pushed: the stream after the header. */
  after: Buffer;
  /** The most bytes the decoder held between pushes. */
  maxHeld: number;
}

/** Pushes `chunks` until the decoder returns a header or an error. */
export function pushChunks(chunks: Buffer[], options: ProxyHeaderDecoderOptions = {}): PushOutcome {
  const decoder = new ProxyHeaderDecoder(options);
  let result: ProxyDecodeResult = { kind: 'need-more' };
  let pushes = 0;
  let maxHeld = 0;
  for (; pushes < chunks.length && result.kind === 'need-more'; ) {
    result = decoder.push(chunks[pushes]!);
    pushes++;
    maxHeld = Math.max(maxHeld, decoder.bufferedBytes);
  }
  const after = Buffer.concat([result.kind === 'header' ? result.rest : Buffer.alloc(0), ...chunks.slice(pushes)]);
  return { result, pushes, after, maxHeld };
}

/** A decoded header in the naive parser's shape. */
export function comparable(header: ProxyHeader): NaiveHeader {
  const out: NaiveHeader = { version: header.version, kind: header.kind, tlvs: header.tlvs.map((t) => ({ type: t.type, value: t.value.toString('hex') })), byteLength: header.byteLength };
  if (header.kind === 'tcp4' || header.kind === 'tcp6') {
    out.source = { ...header.source };
    out.destination = { ...header.destination };
  } else if (header.kind === 'unix') {
    out.source = { path: header.source.path.toString('hex') };
    out.destination = { path: header.destination.path.toString('hex') };
  }
  return out;
}

const port = fc.integer({ min: 0, max: 65535 });
const ipv6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // Runs of zero groups and mapped addresses, where the formatting rules bite.
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xabcd), { minLength: 8, maxLength: 8 }).map((words) => Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]))),
);
/** IPv6 text in Node's form, from bytes. */
export const ipv6Text = ipv6Bytes.map((b) => {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return groups.join(':');
});

/** Any TLV a sender may write (no CRC32C: the encoder adds it). */
export const tlvArb: fc.Arbitrary<ProxyTlv> = fc.oneof(
  fc.record({ type: fc.constantFrom(0x01, 0x02, 0x04, 0x30, 0xe0, 0xea, 0xef, 0xf0, 0xff, 0x06, 0x21), value: fc.uint8Array({ maxLength: 40 }) }).map((t) => ({ type: t.type, value: Buffer.from(t.value) })),
  fc.uint8Array({ maxLength: 128 }).map((v) => uniqueIdTlv(v)),
  fc
    .record({ client: fc.integer({ min: 0, max: 7 }), verify: fc.integer({ min: 0, max: 0xffffffff }), subTlvs: fc.array(fc.record({ type: fc.integer({ min: 0x21, max: 0x28 }), value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 4 }) })
    .map((s) => sslTlv({ client: s.client, verify: s.verify, subTlvs: s.subTlvs.map((t) => ({ type: t.type, value: Buffer.from(t.value) })) })),
);

/** Addresses any v2 header may carry. */
export const v2AddressesArb: fc.Arbitrary<ProxyAddresses> = fc.oneof(
  fc.record({ a: fc.ipV4(), b: fc.ipV4(), p: port, q: port }).map(({ a, b, p, q }) => ({ kind: 'tcp4' as const, source: { address: a, port: p }, destination: { address: b, port: q } })),
  fc.record({ a: ipv6Text, b: ipv6Text, p: port, q: port }).map(({ a, b, p, q }) => ({ kind: 'tcp6' as const, source: { address: a, port: p }, destination: { address: b, port: q } })),
  fc.record({ a: fc.uint8Array({ maxLength: 108 }), b: fc.uint8Array({ maxLength: 108 }) }).map(({ a, b }) => ({ kind: 'unix' as const, source: { path: Buffer.from(a) }, destination: { path: Buffer.from(b) } })),
  fc.constant({ kind: 'unknown' as const }),
  fc.constant({ kind: 'local' as const }),
);

/** A v2 header on the wire, from the encoder. */
export const v2HeaderArb = fc
  .record({ addresses: v2AddressesArb, tlvs: fc.array(tlvArb, { maxLength: 6 }), crc32c: fc.boolean() })
  .map((h) => ({ ...h, bytes: encodeProxyV2(h.addresses, h.tlvs, { crc32c: h.crc32c }) }));

/** A v1 line: from the encoder, or written by hand with IPv6 text in any valid form and UNKNOWN with any trailer. */
export const v1LineArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({ a: fc.ipV4(), b: fc.ipV4(), p: port, q: port }).map(({ a, b, p, q }) => Buffer.from(`PROXY TCP4 ${a} ${b} ${p} ${q}\r\n`)),
  fc.record({ a: fc.ipV6(), b: fc.ipV6(), p: port, q: port }).map(({ a, b, p, q }) => Buffer.from(`PROXY TCP6 ${a} ${b} ${p} ${q}\r\n`)),
  fc.record({ a: ipv6Text, b: ipv6Text, p: port, q: port }).map(({ a, b, p, q }) => encodeProxyV1({ kind: 'tcp6', source: { address: a, port: p }, destination: { address: b, port: q } })),
  fc.string({ unit: fc.constantFrom(...' abcXYZ0129:.-\t\u00e9'.split('')), maxLength: 91 }).map((s) => Buffer.from(`PROXY UNKNOWN${s === '' ? '' : ` ${s}`}\r\n`, 'latin1')),
);

/** Valid header bytes of either version. */
export const headerBytesArb: fc.Arbitrary<Buffer> = fc.oneof(v1LineArb, v2HeaderArb.map((h) => h.bytes));

/** A change to a valid header: one byte replaced, one inserted, one removed, or the v2 length field rewritten or nudged. */
export const mutationArb = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat(), byte: fc.constant(0) }),
  fc.record({ op: fc.constant('length' as const), at: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 11, 12, 13, 35, 36, 37, 215, 216, 217)), byte: fc.constant(0) }),
  // Near the true length, where TLV overruns and short address blocks live.
  fc.record({ op: fc.constant('length-delta' as const), at: fc.integer({ min: -4, max: 4 }), byte: fc.constant(0) }),
);

/** Applies a mutation (positions wrap around the header's length). */
export function mutate(bytes: Buffer, m: { op: 'replace' | 'insert' | 'remove' | 'length' | 'length-delta'; at: number; byte: number }): Buffer {
  const b = Buffer.from(bytes);
  if (b.length === 0) return b;
  const at = ((m.at % b.length) + b.length) % b.length;
  switch (m.op) {
    case 'replace':
      b[at] = m.byte;
      return b;
    case 'insert':
      return Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    case 'remove':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    case 'length':
      if (b.length >= 16 && b[0] === 0x0d) b.writeUInt16BE(m.at, 14);
      return b;
    case 'length-delta':
      if (b.length >= 16 && b[0] === 0x0d) b.writeUInt16BE(Math.min(0xffff, Math.max(0, b.readUInt16BE(14) + m.at)), 14);
      return b;
  }
}
