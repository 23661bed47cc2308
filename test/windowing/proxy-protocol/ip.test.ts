import { expect } from 'chai';
import fc from 'fast-check';
import { isIPv6, SocketAddress } from 'node:net';
import { formatIPv4, formatIPv6, isIPv4Mapped, parseIPv4Text, parseIPv6Text } from '../../../windowing/proxy-protocol/ip.js';

function nodeText(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

describe('IP address text (proxy-protocol/ip)', () => {
  describe('parseIPv4Text', () => {
    const good: [string, number[]][] = [
      ['0.0.0.0', [0, 0, 0, 0]],
      ['255.255.255.255', [255, 255, 255, 255]],
      ['192.168.0.11', [192, 168, 0, 11]],
      ['10.0.100.9', [10, 0, 100, 9]],
    ];
    for (const [text, bytes] of good) {
      it(`"${text}" -> ${bytes.join(',')}`, () => {
        expect(Array.from(parseIPv4Text(text) ?? [])).to.deep.equal(bytes);
      });
    }
    for (const text of ['256.0.0.1', '01.2.3.4', '1.2.3.04', '00.0.0.0', '1.2.3', '1.2.3.4.5', '1..2.3', '', '1.2.3.4 ', '+1.2.3.4', '1.2.3.0x1', '1.2.3.-1', '1000.1.1.1']) {
      it(`refuses "${text}"`, () => {
        expect(parseIPv4Text(text)).to.equal(null);
      });
    }
  });

  describe('parseIPv6Text', () => {
    const good: [string, string][] = [
      ['::', '00000000000000000000000000000000'],
      ['::1', '00000000000000000000000000000001'],
      ['1::', '00010000000000000000000000000000'],
      ['2001:DB8::1', '20010db8000000000000000000000001'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffffffffffffffffffffffffffffffff'],
      ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
      ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
      ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
      ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ];
    for (const [text, hex] of good) {
      it(`"${text}" -> ${hex}`, () => {
        expect(Buffer.from(parseIPv6Text(text) ?? []).toString('hex')).to.equal(hex);
      });
    }
    const bad = ['', ':', ':::', '1::2::3', ':1::', '1::2:', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '12345::', 'g::', 'fe80::1%eth0', '[::1]', '1.2.3.4', '::1.2.3.04', '1.2.3.4::', '::1.2.3.4:1', '1:2:3:4:5:6:7:1.2.3.4', ' ::1'];
    for (const text of bad) {
      it(`refuses "${text}"`, () => {
        expect(parseIPv6Text(text)).to.equal(null);
      });
    }

    it('accepts exactly what node:net accepts, zones aside, on generated addresses and near misses', () => {
      const nearMiss = fc.string({ unit: fc.constantFrom('0', '1', 'f', 'F', 'ffff', ':', ':', '::', '.', '1.2.3.4', '255', '01'), maxLength: 14 });
      fc.assert(
        fc.property(fc.oneof(fc.ipV6(), nearMiss), (text) => {
          expect(parseIPv6Text(text) !== null, text).to.equal(isIPv6(text));
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('formatIPv6', () => {
    const cases: [string, string][] = [
      ['::', '::'],
      ['::1', '::1'],
      ['::2', '::2'],
      ['::1.2.3.4', '::1.2.3.4'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::ffff:0:0', '::ffff:0.0.0.0'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['0:0:0:0:1:ffff:102:304', '::1:ffff:102:304'],
    ];
    for (const [input, expected] of cases) {
      it(`${input} -> ${expected}`, () => {
        expect(formatIPv6(parseIPv6Text(input)!)).to.equal(expected);
      });
    }

    it('hex groups only with dottedTail: false', () => {
      expect(formatIPv6(parseIPv6Text('::ffff:1.2.3.4')!, 0, { dottedTail: false })).to.equal('::ffff:102:304');
    });

    it('writes any 16 bytes as Node writes a socket address, and reads its own text back', () => {
      const words = fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0x1234), { minLength: 8, maxLength: 8 }).map((w) => Uint8Array.from(w.flatMap((x) => [x >> 8, x & 0xff])));
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), words), (bytes) => {
          const text = formatIPv6(bytes);
          expect(text).to.equal(nodeText(bytes));
          expect(Array.from(parseIPv6Text(text)!)).to.deep.equal(Array.from(bytes));
          expect(Array.from(parseIPv6Text(formatIPv6(bytes, 0, { dottedTail: false }))!)).to.deep.equal(Array.from(bytes));
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('formatIPv4 and isIPv4Mapped read at an offset', () => {
    const bytes = Uint8Array.from([9, 9, ...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]);
    expect(isIPv4Mapped(bytes, 2)).to.equal(true);
    expect(isIPv4Mapped(bytes, 0)).to.equal(false);
    expect(formatIPv4(bytes, 14)).to.equal('1.2.3.4');
  });
});
