import { expect } from 'chai';
import {
  authorityTlv,
  crc32c,
  encodeProxyV1,
  encodeProxyV2,
  InvalidProxyFieldError,
  passThroughTlvs,
  ProxyHeaderDecoder,
  sslTlv,
  uniqueIdTlv,
  type ProxyAddresses,
  type ProxyHeader,
  type ProxyTlv,
  type ProxyV1Addresses,
} from '../../../windowing/index.js';
import { AWS_NLB_CAPTURE, AWS_NLB_VPCE, HAPROXY_AUTHORITY, HAPROXY_UNIQUE_ID, hexBytes, V2_SIGNATURE_HEX } from '../../helpers/proxy-header-cases.js';

function decoded(bytes: Buffer): ProxyHeader {
  const result = new ProxyHeaderDecoder({ maxHeaderBytes: 65551 }).push(bytes);
  if (result.kind !== 'header') throw new Error(result.kind === 'error' ? result.error.message : 'need-more');
  return result.header;
}

const local127: ProxyAddresses = { kind: 'tcp4', source: { address: '127.0.0.1', port: 42 }, destination: { address: '127.0.0.1', port: 1337 } };

describe('PROXY header encoders', () => {
  describe('encodeProxyV1', () => {
    const cases: [string, ProxyV1Addresses, string][] = [
      [
        'the spec\'s example',
        { kind: 'tcp4', source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 } },
        'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n',
      ],
      [
        'the spec\'s longest TCP4 line',
        { kind: 'tcp4', source: { address: '255.255.255.255', port: 65535 }, destination: { address: '255.255.255.255', port: 65535 } },
        'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n',
      ],
      [
        'TCP6, written in compressed lower-case hex',
        { kind: 'tcp6', source: { address: '2001:DB8:0:0:0:0:0:1', port: 0 }, destination: { address: '::1', port: 80 } },
        'PROXY TCP6 2001:db8::1 ::1 0 80\r\n',
      ],
      [
        'TCP6 with an IPv4-mapped address: hex groups, not a dotted tail',
        { kind: 'tcp6', source: { address: '::ffff:1.2.3.4', port: 1 }, destination: { address: '2001:db8::2', port: 2 } },
        'PROXY TCP6 ::ffff:102:304 2001:db8::2 1 2\r\n',
      ],
      ['UNKNOWN, the short form', { kind: 'unknown' }, 'PROXY UNKNOWN\r\n'],
    ];
    for (const [name, addresses, line] of cases) {
      it(`${name}: ${JSON.stringify(line)}`, () => {
        const bytes = encodeProxyV1(addresses);
        expect(bytes.toString('latin1')).to.equal(line);
        expect(decoded(bytes).kind).to.equal(addresses.kind);
      });
    }

    const bad: [string, unknown, string, RegExp][] = [
      ['IPv6 text in TCP4', { kind: 'tcp4', source: { address: '::1', port: 1 }, destination: { address: '1.2.3.4', port: 2 } }, 'source.address', /"::1" is not IPv4 text, as tcp4 needs/],
      ['dotted quad in TCP6', { kind: 'tcp6', source: { address: '::1', port: 1 }, destination: { address: '1.2.3.4', port: 2 } }, 'destination.address', /"1.2.3.4" is not IPv6 text, as tcp6 needs/],
      ['a host name', { kind: 'tcp4', source: { address: 'localhost', port: 1 }, destination: { address: '1.2.3.4', port: 2 } }, 'source.address', /not IPv4 text/],
      ['port 65536', { kind: 'tcp4', source: { address: '1.2.3.4', port: 65536 }, destination: { address: '1.2.3.4', port: 2 } }, 'source.port', /must be a port in 0..65535, got 65536/],
      ['port 1.5', { kind: 'tcp4', source: { address: '1.2.3.4', port: 1 }, destination: { address: '1.2.3.4', port: 1.5 } }, 'destination.port', /got 1.5/],
      ['a UNIX pair (v2 only)', { kind: 'unix', source: { path: Buffer.from('/a') }, destination: { path: Buffer.from('/b') } }, 'kind', /must be one of tcp4, tcp6, unknown, got unix/],
      ['LOCAL (v2 only)', { kind: 'local' }, 'kind', /got local/],
    ];
    for (const [name, addresses, field, message] of bad) {
      it(`refuses ${name}: InvalidProxyFieldError on ${field}`, () => {
        expect(() => encodeProxyV1(addresses as ProxyV1Addresses))
          .to.throw(InvalidProxyFieldError, message)
          .with.property('field', field);
      });
    }
  });

  describe('encodeProxyV2', () => {
    it('HAProxy\'s reg-test bytes: TCP4 with AUTHORITY "12345"', () => {
      expect(encodeProxyV2(local127, [authorityTlv('12345')]).equals(HAPROXY_AUTHORITY)).to.equal(true);
    });

    it('HAProxy\'s reg-test bytes: TCP4 with UNIQUE_ID "12345"', () => {
      expect(encodeProxyV2(local127, [uniqueIdTlv('12345')]).equals(HAPROXY_UNIQUE_ID)).to.equal(true);
    });

    for (const [name, capture] of [
      ['example', AWS_NLB_VPCE],
      ['capture', AWS_NLB_CAPTURE],
    ] as const) {
      it(`an AWS NLB ${name}, rebuilt from its decoded header with a fresh CRC32C, is byte for byte the capture`, () => {
        const h = decoded(capture);
        const rebuilt = encodeProxyV2(h, h.tlvs.filter((t) => t.type !== 0x03), { crc32c: true });
        expect(rebuilt.toString('hex')).to.equal(capture.toString('hex'));
      });
    }

    it('LOCAL: 16 bytes, command 0, UNSPEC, length 0', () => {
      expect(encodeProxyV2({ kind: 'local' }).toString('hex')).to.equal(`${V2_SIGNATURE_HEX}20000000`);
    });

    it('LOCAL with TLVs: they follow the fixed part directly', () => {
      expect(encodeProxyV2({ kind: 'local' }, [uniqueIdTlv('x')]).toString('hex')).to.equal(`${V2_SIGNATURE_HEX}20000004050001${'78'}`);
    });

    it('unknown: PROXY with UNSPEC', () => {
      expect(encodeProxyV2({ kind: 'unknown' }).toString('hex')).to.equal(`${V2_SIGNATURE_HEX}21000000`);
    });

    it('TCP6: 36-byte block, addresses from any valid text', () => {
      const bytes = encodeProxyV2({ kind: 'tcp6', source: { address: '2001:db8::1', port: 80 }, destination: { address: '::ffff:1.2.3.4', port: 443 } });
      expect(bytes.toString('hex')).to.equal(`${V2_SIGNATURE_HEX}21210024` + '20010db8000000000000000000000001' + '00000000000000000000ffff01020304' + '0050' + '01bb');
    });

    it('UNIX: two 108-byte NUL-padded paths; an abstract name keeps its leading NUL', () => {
      const bytes = encodeProxyV2({ kind: 'unix', source: { path: Buffer.from('/run/a') }, destination: { path: Buffer.from('\0abs') } });
      expect(bytes.length).to.equal(16 + 216);
      expect(bytes.subarray(16, 124).toString('latin1')).to.equal(`/run/a${'\0'.repeat(102)}`);
      expect(bytes.subarray(124, 232).toString('latin1')).to.equal(`\0abs${'\0'.repeat(104)}`);
      const h = decoded(bytes);
      expect(h.kind === 'unix' && [h.source.path.toString('latin1'), h.destination.path.toString('latin1')]).to.deep.equal(['/run/a', '\0abs']);
    });

    it('a UNIX path of exactly 108 bytes has no room for a NUL and needs none', () => {
      const path = Buffer.alloc(108, 0x61);
      const h = decoded(encodeProxyV2({ kind: 'unix', source: { path }, destination: { path } }));
      expect(h.kind === 'unix' && h.source.path.length).to.equal(108);
    });

    it('CRC32C: first TLV, over the whole header with its own field zeroed', () => {
      const bytes = encodeProxyV2(local127, [uniqueIdTlv('abc')], { crc32c: true });
      expect(bytes.subarray(28, 31).toString('hex')).to.equal('030004');
      expect(bytes.readUInt32BE(31)).to.equal(crc32c(bytes, 31));
      expect(decoded(bytes).crc32c).to.equal(bytes.readUInt32BE(31));
    });

    it('SSL TLV: client, verify and sub-TLVs come back as written', () => {
      const ssl = sslTlv({ client: 0x05, verify: 7, subTlvs: [{ type: 0x21, value: Buffer.from('TLSv1.2') }, { type: 0x28, value: Buffer.from([0x30, 0x82]) }] });
      const h = decoded(encodeProxyV2(local127, [ssl]));
      expect(h.ssl).to.deep.equal({
        client: 5,
        verify: 7,
        version: 'TLSv1.2',
        clientCertificate: Buffer.from([0x30, 0x82]),
        subTlvs: [{ type: 0x21, value: Buffer.from('TLSv1.2') }, { type: 0x28, value: Buffer.from([0x30, 0x82]) }],
      });
    });

    it('a payload of exactly 65535 bytes fits the length field; one more does not', () => {
      const fill = (n: number): ProxyTlv[] => [{ type: 0xe0, value: Buffer.alloc(n) }];
      expect(encodeProxyV2(local127, fill(65535 - 12 - 3)).length).to.equal(65551);
      expect(() => encodeProxyV2(local127, fill(65535 - 12 - 3 + 1)))
        .to.throw(InvalidProxyFieldError, /header payload of 65536 bytes exceeds the u16 length field \(65535\)/);
    });

    const bad: [string, () => unknown, string, RegExp][] = [
      ['a CRC32C TLV among the TLVs', () => encodeProxyV2(local127, [{ type: 0x03, value: Buffer.alloc(4) }]), 'tlvs[0]', /computed by the encoder: pass \{ crc32c: true \}/],
      ['a UNIQUE_ID TLV of 129 bytes', () => encodeProxyV2(local127, [{ type: 0x05, value: Buffer.alloc(129) }]), 'tlvs[0]', /UNIQUE_ID of 129 bytes, more than 128/],
      ['a TLV value of 65536 bytes', () => encodeProxyV2(local127, [uniqueIdTlv('a'), { type: 0xe0, value: Buffer.alloc(65536) }]), 'tlvs[1].value', /65536 bytes, more than 65535/],
      ['a TLV type of 256', () => encodeProxyV2(local127, [{ type: 256, value: Buffer.alloc(0) }]), 'tlvs[0].type', /must be a whole number in 0..255, got 256/],
      ['a TLV value that is not bytes', () => encodeProxyV2(local127, [{ type: 1, value: 'h2' as unknown as Buffer }]), 'tlvs[0].value', /must be bytes/],
      ['a UNIX path of 109 bytes', () => encodeProxyV2({ kind: 'unix', source: { path: Buffer.alloc(109) }, destination: { path: Buffer.alloc(1) } }), 'source.path', /109 bytes, more than 108/],
      ['an unknown kind', () => encodeProxyV2({ kind: 'udp4' } as unknown as ProxyAddresses), 'kind', /must be one of tcp4, tcp6, unix, unknown, local, got udp4/],
      ['uniqueIdTlv of 129 bytes', () => uniqueIdTlv('x'.repeat(129)), 'uniqueId', /129 bytes, more than 128/],
      ['sslTlv with verify past u32', () => sslTlv({ client: 0, verify: 2 ** 32 }), 'ssl.verify', /got 4294967296/],
      ['sslTlv with client past u8', () => sslTlv({ client: 256, verify: 0 }), 'ssl.client', /got 256/],
    ];
    for (const [name, call, field, message] of bad) {
      it(`refuses ${name}: InvalidProxyFieldError on ${field}`, () => {
        expect(call).to.throw(InvalidProxyFieldError, message).with.property('field', field);
      });
    }

    it('the encoder\'s errors have a stable code', () => {
      expect(() => uniqueIdTlv('x'.repeat(200))).to.throw(InvalidProxyFieldError).with.property('code', 'ERR_INVALID_PROXY_FIELD');
    });
  });

  describe('passing an accepted header\'s TLVs on', () => {
    const accepted = decoded(
      encodeProxyV2(
        local127,
        [
          { type: 0x04, value: Buffer.alloc(8) },
          authorityTlv('example.com'),
          uniqueIdTlv('upstream-id'),
          { type: 0xea, value: Buffer.from([1, 0x76]) },
          { type: 0xf0, value: Buffer.from('exp') },
        ],
        { crc32c: true },
      ),
    );

    it('drops CRC32C (it covered that header) and NOOP (its padding), keeps the rest in order', () => {
      expect(passThroughTlvs(accepted).map((t) => t.type)).to.deep.equal([0x02, 0x05, 0xea, 0xf0]);
    });

    it('re-encoded with a fresh CRC32C and our own UNIQUE_ID, the next hop reads the same TLVs', () => {
      const onward = [...passThroughTlvs(accepted).filter((t) => t.type !== 0x05), uniqueIdTlv('our-id')];
      const next = decoded(encodeProxyV2(accepted, onward, { crc32c: true }));
      expect([next.authority, next.uniqueId?.toString(), next.tlvs.map((t) => t.type)]).to.deep.equal(['example.com', 'our-id', [0x03, 0x02, 0xea, 0xf0, 0x05]]);
      expect(next.kind === 'tcp4' && next.source).to.deep.equal({ address: '127.0.0.1', port: 42 });
    });

    it('a header with no TLVs passes none on, and a v1 header none either', () => {
      expect(passThroughTlvs(decoded(encodeProxyV2(local127)))).to.deep.equal([]);
      expect(passThroughTlvs(decoded(hexBytes(Buffer.from('PROXY UNKNOWN\r\n').toString('hex'))))).to.deep.equal([]);
    });
  });
});
