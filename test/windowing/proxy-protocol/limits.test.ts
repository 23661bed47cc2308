import { expect } from 'chai';
import {
  encodeProxyV2,
  ProxyHeaderDecoder,
  ProxyHeaderInvalidError,
  ProxyHeaderTooLargeError,
  type ProxyDecodeResult,
  type ProxyHeaderDecoderOptions,
} from '../../../windowing/index.js';
import { hexBytes, V2_SIGNATURE_HEX } from '../../helpers/proxy-header-cases.js';

/** Pushes `bytes` one at a time; the results, in order, up to the first that is not need-more. */
function byteByByte(bytes: Buffer, options: ProxyHeaderDecoderOptions = {}): ProxyDecodeResult[] {
  const decoder = new ProxyHeaderDecoder(options);
  const results: ProxyDecodeResult[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const result = decoder.push(bytes.subarray(i, i + 1));
    results.push(result);
    if (result.kind !== 'need-more') break;
  }
  return results;
}

function needMoreThen(results: ProxyDecodeResult[]): { needMore: number; last: ProxyDecodeResult } {
  const last = results[results.length - 1]!;
  expect(results.slice(0, -1).every((r) => r.kind === 'need-more')).to.equal(true);
  return { needMore: results.length - 1, last };
}

const tcp4 = { kind: 'tcp4', source: { address: '10.0.0.1', port: 1 }, destination: { address: '10.0.0.2', port: 2 } } as const;

/** A TCP4 header of exactly `size` bytes: the block plus one custom TLV filling the rest. */
function tcp4HeaderOf(size: number): Buffer {
  return encodeProxyV2(tcp4, [{ type: 0xe0, value: Buffer.alloc(size - 16 - 12 - 3, 0x61) }]);
}

describe('PROXY header limits: exactly at each, and one past', () => {
  describe('v1: 107 bytes including CRLF (spec)', () => {
    const trailer = (n: number) => 'x'.repeat(n);

    it('a 107-byte UNKNOWN line: 106 need-more, the header at the 107th byte', () => {
      const line = Buffer.from(`PROXY UNKNOWN ${trailer(91)}\r\n`);
      expect(line.length).to.equal(107);
      const { needMore, last } = needMoreThen(byteByByte(line));
      expect(needMore).to.equal(106);
      expect(last.kind === 'header' && last.header.byteLength).to.equal(107);
    });

    it('a 108-byte line: 106 need-more, too large at the 107th byte (its CR), the LF is never needed', () => {
      const line = Buffer.from(`PROXY UNKNOWN ${trailer(92)}\r\n`);
      expect(line.length).to.equal(108);
      const { needMore, last } = needMoreThen(byteByByte(line));
      expect(needMore).to.equal(106);
      expect(last.kind === 'error' && last.error).to.be.instanceOf(ProxyHeaderTooLargeError).and.include({ code: 'ERR_PROXY_HEADER_TOO_LARGE', version: 1, maxBytes: 107 });
      expect(last.kind === 'error' && last.error.message).to.equal('PROXY protocol v1 line has no CRLF within 107 bytes');
    });

    it('107 bytes without CRLF in one chunk are refused at once, nothing held', () => {
      const decoder = new ProxyHeaderDecoder();
      const result = decoder.push(Buffer.from(`PROXY UNKNOWN ${trailer(200)}`));
      expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderTooLargeError);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('106 bytes without CRLF are still need-more; never more than 106 held', () => {
      const decoder = new ProxyHeaderDecoder();
      expect(decoder.push(Buffer.from(`PROXY UNKNOWN ${trailer(92)}`))).to.deep.equal({ kind: 'need-more' });
      expect(decoder.bufferedBytes).to.equal(106);
    });
  });

  describe('v2: maxHeaderBytes, decided from the length field before the payload', () => {
    for (const max of [232, 4096, 65551]) {
      it(`maxHeaderBytes ${max}: a ${max}-byte header is accepted`, () => {
        const bytes = max === 232 ? encodeProxyV2({ kind: 'unix', source: { path: Buffer.from('/a') }, destination: { path: Buffer.from('/b') } }) : tcp4HeaderOf(max);
        expect(bytes.length).to.equal(max);
        const result = new ProxyHeaderDecoder({ maxHeaderBytes: max }).push(bytes);
        expect(result.kind === 'header' && result.header.byteLength).to.equal(max);
      });
    }

    for (const max of [232, 4096, 65550]) {
      it(`maxHeaderBytes ${max}: a ${max + 1}-byte header is too large after exactly 16 bytes`, () => {
        const fixed = hexBytes(`${V2_SIGNATURE_HEX} 21 11 ${(max + 1 - 16).toString(16).padStart(4, '0')}`);
        const { needMore, last } = needMoreThen(byteByByte(fixed, { maxHeaderBytes: max }));
        expect(needMore).to.equal(15);
        expect(last.kind === 'error' && last.error).to.be.instanceOf(ProxyHeaderTooLargeError).and.include({ version: 2, byteLength: max + 1, maxBytes: max });
      });
    }

    it('the 4096-byte default: 4096 in, 4097 out', () => {
      expect(new ProxyHeaderDecoder().push(tcp4HeaderOf(4096)).kind).to.equal('header');
      const result = new ProxyHeaderDecoder().push(tcp4HeaderOf(4097));
      expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderTooLargeError);
    });

    it('a header split before its length field holds at most 16 bytes; after it, at most its declared size', () => {
      const bytes = tcp4HeaderOf(3000);
      const decoder = new ProxyHeaderDecoder();
      decoder.push(bytes.subarray(0, 10));
      expect(decoder.bufferedBytes).to.equal(10);
      decoder.push(bytes.subarray(10, 2000));
      expect(decoder.bufferedBytes).to.equal(1990 + 10);
      const result = decoder.push(Buffer.concat([bytes.subarray(2000), Buffer.from('after')]));
      expect(result.kind === 'header' && result.rest.toString()).to.equal('after');
    });
  });

  describe('v2 address block: at the family\'s size, and one short', () => {
    for (const [family, size, name] of [
      [0x11, 12, 'TCP4'],
      [0x21, 36, 'TCP6'],
      [0x31, 216, 'UNIX'],
    ] as const) {
      it(`${name}: length ${size} is a header`, () => {
        const bytes = Buffer.concat([hexBytes(`${V2_SIGNATURE_HEX} 21 ${family.toString(16)} ${size.toString(16).padStart(4, '0')}`), Buffer.alloc(size)]);
        expect(new ProxyHeaderDecoder().push(bytes).kind).to.equal('header');
      });

      it(`${name}: length ${size - 1} is refused after exactly 16 bytes`, () => {
        const bytes = Buffer.concat([hexBytes(`${V2_SIGNATURE_HEX} 21 ${family.toString(16)} ${(size - 1).toString(16).padStart(4, '0')}`), Buffer.alloc(size - 1)]);
        const { needMore, last } = needMoreThen(byteByByte(bytes));
        expect(needMore).to.equal(15);
        expect(last.kind === 'error' && last.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'v2-address-block' });
        expect(last.kind === 'error' && last.error.message).to.equal(
          `invalid PROXY protocol header (v2-address-block): length ${size - 1} is shorter than the ${size}-byte address block of family 0x${family.toString(16)}`,
        );
      });
    }
  });

  describe('TLVs must fill the declared length exactly', () => {
    /** PROXY UNSPEC whose TLV area is `area` (hex), its length field set to the area's size. */
    const unspecWith = (area: string) => {
      const bytes = hexBytes(area);
      return Buffer.concat([hexBytes(`${V2_SIGNATURE_HEX} 21 00 ${bytes.length.toString(16).padStart(4, '0')}`), bytes]);
    };
    const cases: [string, string, boolean][] = [
      ['a TLV whose value fills the rest exactly', 'e00003 616263', true],
      ['a TLV whose value runs one byte past', 'e00004 616263', false],
      ['an empty TLV', 'e00000', true],
      ['a TLV header cut after its type', 'e0', false],
      ['a TLV header cut after one length byte', 'e000', false],
      ['a TLV of 65535 bytes announced in a 6-byte area', 'e0ffff 616263', false],
      ['two TLVs, the second one byte short', 'e00001 61 e10002 62', false],
    ];
    for (const [name, area, ok] of cases) {
      it(`${name}: ${ok ? 'accepted' : 'tlv-overrun'}`, () => {
        const result = new ProxyHeaderDecoder().push(unspecWith(area));
        if (ok) expect(result.kind).to.equal('header');
        else expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'tlv-overrun' });
      });
    }

    it('an SSL sub-TLV one byte past its SSL TLV is refused, one that fits is not', () => {
      const fits = unspecWith('200009 01 00000000 210001 41');
      const over = unspecWith('200009 01 00000000 210002 41');
      expect(new ProxyHeaderDecoder().push(fits).kind).to.equal('header');
      const result = new ProxyHeaderDecoder().push(over);
      expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'ssl-tlv' });
    });

    it('an SSL TLV of exactly 5 bytes is accepted, 4 refused', () => {
      expect(new ProxyHeaderDecoder().push(unspecWith('200005 01 00000000')).kind).to.equal('header');
      const result = new ProxyHeaderDecoder().push(unspecWith('200004 01 000000'));
      expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'ssl-tlv' });
    });

    it('UNIQUE_ID of 128 bytes is accepted, 129 refused', () => {
      const at128 = new ProxyHeaderDecoder().push(unspecWith(`050080 ${'61'.repeat(128)}`));
      expect(at128.kind === 'header' && at128.header.uniqueId?.length).to.equal(128);
      const at129 = new ProxyHeaderDecoder().push(unspecWith(`050081 ${'61'.repeat(129)}`));
      expect(at129.kind === 'error' && at129.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'unique-id-too-long' });
      expect(at129.kind === 'error' && at129.error.message).to.match(/UNIQUE_ID of 129 bytes, more than 128/);
    });
  });

  describe('v1 fields at their bounds', () => {
    const line = (fields: string) => Buffer.from(`PROXY ${fields}\r\n`);
    const cases: [string, string, string | null][] = [
      ['port 65535', 'TCP4 1.2.3.4 5.6.7.8 65535 65535', null],
      ['port 65536', 'TCP4 1.2.3.4 5.6.7.8 65536 1', 'v1-port'],
      ['port 0', 'TCP4 1.2.3.4 5.6.7.8 0 0', null],
      ['port 00', 'TCP4 1.2.3.4 5.6.7.8 00 0', 'v1-port'],
      ['port 100000 (six digits)', 'TCP4 1.2.3.4 5.6.7.8 100000 0', 'v1-port'],
      ['IPv4 part 255', 'TCP4 255.255.255.255 0.0.0.0 1 2', null],
      ['IPv4 part 256', 'TCP4 255.255.255.256 0.0.0.0 1 2', 'v1-address'],
      ['IPv6 with 8 groups', 'TCP6 1:2:3:4:5:6:7:8 ::1 1 2', null],
      ['IPv6 with 9 groups', 'TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2', 'v1-address'],
      ['IPv6 group of 4 digits', 'TCP6 ffff:: ::1 1 2', null],
      ['IPv6 group of 5 digits', 'TCP6 fffff:: ::1 1 2', 'v1-address'],
    ];
    for (const [name, fields, reason] of cases) {
      it(`${name}: ${reason ?? 'accepted'}`, () => {
        const result = new ProxyHeaderDecoder().push(line(fields));
        if (reason === null) expect(result.kind).to.equal('header');
        else expect(result.kind === 'error' && result.error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason });
      });
    }
  });
});
