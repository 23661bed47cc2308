import { expect } from 'chai';
import { describeProxyHeader, ProxyHeaderDecoder, ProxyHeaderInvalidError, type ProxyDecodeResult, type ProxyHeader } from '../../../windowing/index.js';
import { AWS_NLB_CAPTURE, AWS_NLB_VPCE, HAPROXY_AUTHORITY, HAPROXY_UNIQUE_ID, hexBytes, V2_SIGNATURE_HEX } from '../../helpers/proxy-header-cases.js';

function decode(bytes: Buffer): ProxyDecodeResult {
  return new ProxyHeaderDecoder().push(bytes);
}

function header(bytes: Buffer): { header: ProxyHeader; rest: Buffer } {
  const result = decode(bytes);
  if (result.kind !== 'header') throw new Error(`expected a header, got ${result.kind}${result.kind === 'error' ? `: ${result.error.message}` : ''}`);
  return result;
}

const V6_MAX = `${'ffff:'.repeat(7)}ffff`;

describe('PROXY protocol test vectors', () => {
  describe('from the spec (doc/proxy-protocol.txt)', () => {
    it('section 2.1 example: TCP4 line, then the HTTP request it carries is the rest', () => {
      const request = 'GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n';
      const { header: h, rest } = header(Buffer.from(`PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n${request}`));
      expect(h).to.deep.equal({
        kind: 'tcp4',
        source: { address: '192.168.0.1', port: 56324 },
        destination: { address: '192.168.0.11', port: 443 },
        version: 1,
        byteLength: 47,
        tlvs: [],
      });
      expect(rest.toString()).to.equal(request);
    });

    it('longest TCP4 line, 56 bytes', () => {
      const { header: h } = header(Buffer.from('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'));
      expect(describeProxyHeader(h)).to.equal('v1 tcp4 255.255.255.255:65535 -> 255.255.255.255:65535, 56 bytes');
    });

    it('longest TCP6 line, 104 bytes (addresses come out in Node\'s form)', () => {
      const { header: h } = header(Buffer.from(`PROXY TCP6 ${V6_MAX} ${V6_MAX} 65535 65535\r\n`));
      expect(h.byteLength).to.equal(104);
      expect(h.kind === 'tcp6' && h.source.address).to.equal(V6_MAX);
    });

    it('UNKNOWN short form, 15 bytes: use the socket\'s addresses', () => {
      expect(header(Buffer.from('PROXY UNKNOWN\r\n')).header).to.deep.equal({ kind: 'unknown', version: 1, byteLength: 15, tlvs: [] });
    });

    it('UNKNOWN worst case, 107 bytes: everything up to the CRLF is ignored', () => {
      const { header: h } = header(Buffer.from(`PROXY UNKNOWN ${V6_MAX} ${V6_MAX} 65535 65535\r\n`));
      expect(h).to.deep.equal({ kind: 'unknown', version: 1, byteLength: 107, tlvs: [] });
    });

    it('section 2.2: the 16-byte header with signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A, PROXY TCP4, 12-byte block', () => {
      const { header: h } = header(hexBytes(`${V2_SIGNATURE_HEX} 21 11 000c c0a80001 c0a8000b dc04 01bb`));
      expect(h).to.deep.equal({
        kind: 'tcp4',
        source: { address: '192.168.0.1', port: 56324 },
        destination: { address: '192.168.0.11', port: 443 },
        version: 2,
        byteLength: 28,
        tlvs: [],
      });
    });

    it('section 2.2: LOCAL with UNSPEC and length 0 is a whole header of 16 bytes', () => {
      expect(header(hexBytes(`${V2_SIGNATURE_HEX} 20 00 0000`)).header).to.deep.equal({ kind: 'local', version: 2, byteLength: 16, tlvs: [] });
    });

    it('section 2.2: the receiver skips the length even for LOCAL, never assuming zero', () => {
      const { header: h, rest } = header(hexBytes(`${V2_SIGNATURE_HEX} 20 11 000c 01020304 05060708 0009 000a 414243`));
      expect(h).to.deep.equal({ kind: 'local', version: 2, byteLength: 28, tlvs: [] });
      expect(rest.toString()).to.equal('ABC');
    });

    it('section 2.2: TCP6 block of 36 bytes', () => {
      const { header: h } = header(hexBytes(`${V2_SIGNATURE_HEX} 21 21 0024 20010db8000000000000000000000001 00000000000000000000ffff01020304 0050 01bb`));
      expect(h.kind === 'tcp6' && [h.source, h.destination]).to.deep.equal([
        { address: '2001:db8::1', port: 80 },
        { address: '::ffff:1.2.3.4', port: 443 },
      ]);
    });

    it('section 2.2: UNIX block of 2 x 108 bytes, NUL padding dropped', () => {
      const path = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(108 - s.length)]).toString('hex');
      const { header: h } = header(hexBytes(`${V2_SIGNATURE_HEX} 21 31 00d8 ${path('/tmp/a.sock')} ${path('/tmp/b.sock')}`));
      expect(h.kind === 'unix' && [h.source.path.toString(), h.destination.path.toString()]).to.deep.equal(['/tmp/a.sock', '/tmp/b.sock']);
      expect(describeProxyHeader(h)).to.equal('v2 unix /tmp/a.sock -> /tmp/b.sock, 232 bytes');
    });

    it('section 2.2.6: SSL TLV with its sub-TLVs (version, CN, cipher)', () => {
      // TLSv1.3, example.com, AES256
      const sub = '210007 544c5376312e33  22000b 6578616d706c652e636f6d  230006 414553323536';
      const value = `07 00000000 ${sub}`;
      const valueBytes = hexBytes(value);
      const tlv = `20 ${valueBytes.length.toString(16).padStart(4, '0')} ${value}`;
      const length = 12 + hexBytes(tlv).length;
      const { header: h } = header(hexBytes(`${V2_SIGNATURE_HEX} 21 11 ${length.toString(16).padStart(4, '0')} 7f000001 7f000001 002a 0539 ${tlv}`));
      expect(h.ssl).to.deep.include({ client: 7, verify: 0, version: 'TLSv1.3', commonName: 'example.com', cipher: 'AES256' });
      expect(h.ssl?.subTlvs.map((t) => t.type)).to.deep.equal([0x21, 0x22, 0x23]);
    });
  });

  describe('from HAProxy\'s reg-tests (reg-tests/connection/proxy_protocol_tlv_validation.vtc and unique-id-from-proxy.vtc)', () => {
    it('a correct header with AUTHORITY "12345" passes', () => {
      const { header: h } = header(HAPROXY_AUTHORITY);
      expect(h.authority).to.equal('12345');
      expect(h.kind === 'tcp4' && [h.source, h.destination]).to.deep.equal([
        { address: '127.0.0.1', port: 42 },
        { address: '127.0.0.1', port: 1337 },
      ]);
    });

    it('a TLV after the end of the header is not parsed: it is the connection\'s first bytes', () => {
      const { header: h, rest } = header(Buffer.concat([HAPROXY_AUTHORITY, hexBytes('020005 3534333231')]));
      expect(h.tlvs).to.have.length(1);
      expect(rest.toString('hex')).to.equal('0200053534333231');
    });

    it('a TLV length exceeding the header\'s length fails', () => {
      const bytes = hexBytes(`${V2_SIGNATURE_HEX} 21 11 0014 7f000001 7f000001 002a 0539 02000a 31323334353132333435`);
      const result = decode(bytes);
      expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ code: 'ERR_PROXY_HEADER_INVALID', reason: 'tlv-overrun' });
    });

    it('TLVs not ending with the header fail', () => {
      const bytes = hexBytes(`${V2_SIGNATURE_HEX} 21 11 0014 7f000001 7f000001 002a 0539 020004 31323334 00`);
      const result = decode(bytes.subarray(0, 36));
      expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'tlv-overrun' });
    });

    it('UNIQUE_ID "12345" is read', () => {
      expect(header(HAPROXY_UNIQUE_ID).header.uniqueId?.toString()).to.equal('12345');
    });
  });

  describe('captured from AWS Network Load Balancers (via go-proxyproto\'s tlvparse tests)', () => {
    for (const [name, bytes, vpce, src] of [
      ['VPC endpoint example', AWS_NLB_VPCE, 'vpce-08d2bf15fac5001c9', '172.31.7.113:51442'],
      ['VPC endpoint capture', AWS_NLB_CAPTURE, 'vpce-00eafc458ec97b833', '192.168.44.10:52286'],
    ] as const) {
      it(`${name}: CRC32C verifies, 0xEA kept raw, NOOP padding skipped`, () => {
        const { header: h } = header(bytes);
        expect(h.crc32c).to.equal(bytes.readUInt32BE(31));
        expect(h.tlvs.map((t) => t.type)).to.deep.equal([0x03, 0xea, 0x04]);
        expect(h.tlvs[1]!.value.subarray(1).toString()).to.equal(vpce);
        expect(describeProxyHeader(h)).to.match(new RegExp(`^v2 tcp4 ${src.replace(/\./g, '\\.')} -> `));
      });

      it(`${name}: one bit flipped anywhere in the header fails the checksum`, () => {
        for (const at of [16, 27, 31, 40, 60, 64, 99]) {
          const flipped = Buffer.from(bytes);
          flipped[at]! ^= 0x01;
          const result = decode(flipped);
          expect(result.kind === 'error' && result.error, `byte ${at}`).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'crc32c' });
        }
      });
    }
  });
});
