import { expect } from 'chai';
import {
  crc32c,
  describeProxyHeader,
  encodeProxyV2,
  InvalidOptionError,
  ProxyDecoderState,
  ProxyDecoderStateError,
  ProxyHeaderDecoder,
  ProxyHeaderError,
  ProxyHeaderIncompleteError,
  ProxyHeaderInvalidError,
  ProxyHeaderTooLargeError,
  ProxyHeaderUnsupportedError,
  type ProxyDecodeResult,
} from '../../../windowing/index.js';
import { chunkings } from '../../helpers/chunking.js';
import { hexBytes, proxyVectors, pushChunks, V2_SIGNATURE_HEX } from '../../helpers/proxy-header-cases.js';

/** Any of the decoder's error classes. */
type ErrorClass = abstract new (...args: never[]) => ProxyHeaderError;

function errorOf(result: ProxyDecodeResult): ProxyHeaderError {
  if (result.kind !== 'error') throw new Error(`expected an error, got ${result.kind}`);
  return result.error;
}

/** Pushes `bytes` one at a time; returns the 1-based index of the byte that produced the first non-need-more result. */
function decidingByte(bytes: Buffer): { at: number; result: ProxyDecodeResult } {
  const decoder = new ProxyHeaderDecoder();
  for (let i = 0; i < bytes.length; i++) {
    const result = decoder.push(bytes.subarray(i, i + 1));
    if (result.kind !== 'need-more') return { at: i + 1, result };
  }
  return { at: -1, result: { kind: 'need-more' } };
}

describe('ProxyHeaderDecoder', () => {
  describe('chunking matrix', () => {
    for (const vector of proxyVectors()) {
      const whole = new ProxyHeaderDecoder().push(Buffer.concat([vector.header, vector.after]));
      if (whole.kind !== 'header') throw new Error(`${vector.name}: ${whole.kind === 'error' ? whole.error.message : 'need-more'}`);
      describe(`${vector.name} (${describeProxyHeader(whole.header)})`, () => {
        for (const chunking of chunkings()) {
          it(`${chunking.name}: the same header, and exactly the following bytes after it`, () => {
            const outcome = pushChunks(chunking.split(Buffer.concat([vector.header, vector.after])));
            expect(outcome.result.kind).to.equal('header');
            expect(outcome.result.kind === 'header' && outcome.result.header).to.deep.equal(whole.header);
            expect(outcome.after.equals(vector.after)).to.equal(true);
            expect(outcome.maxHeld).to.be.at.most(Math.max(107, vector.header.length));
          });
        }

        it('header alone, then the following bytes in a later chunk: rest is empty', () => {
          const decoder = new ProxyHeaderDecoder();
          const result = decoder.push(vector.header);
          expect(result.kind === 'header' && result.rest.length).to.equal(0);
          expect(decoder.state).to.equal(ProxyDecoderState.Done);
        });

        it('header split in two, the second half carrying the following bytes', () => {
          const cut = Math.floor(vector.header.length / 2);
          const outcome = pushChunks([vector.header.subarray(0, cut), Buffer.concat([vector.header.subarray(cut), vector.after])]);
          expect(outcome.pushes).to.equal(2);
          expect(outcome.after.equals(vector.after)).to.equal(true);
        });
      });
    }
  });

  describe('refuses at the first byte that rules a header out', () => {
    const v2 = (rest: string) => hexBytes(`${V2_SIGNATURE_HEX} ${rest}`);
    const cases: [string, Buffer, number, ErrorClass, string | null, RegExp][] = [
      ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n'), 1, ProxyHeaderInvalidError, 'signature', /first byte 0x47 starts neither "PROXY " nor the v2 signature/],
      ['a TLS ClientHello', hexBytes('16030100c8'), 1, ProxyHeaderInvalidError, 'signature', /first byte 0x16/],
      ['"PROXZ"', Buffer.from('PROXZ TCP4'), 5, ProxyHeaderInvalidError, 'signature', /line starts "PROXZ", not "PROXY "/],
      ['"PROXY" without its space', Buffer.from('PROXYTCP4'), 6, ProxyHeaderInvalidError, 'signature', /not "PROXY "/],
      ['a signature byte wrong', hexBytes('0d0a0d0a000d0a51555f'), 10, ProxyHeaderInvalidError, 'signature', /byte 10 is 0x5f, not the v2 signature's 0x49/],
      ['two spaces after PROXY', Buffer.from('PROXY  TCP4'), 7, ProxyHeaderInvalidError, 'v1-protocol', /protocol token/],
      ['protocol TCP5', Buffer.from('PROXY TCP5 1.2.3.4'), 10, ProxyHeaderInvalidError, 'v1-protocol', /protocol token starting "TCP5"/],
      ['protocol UDP4', Buffer.from('PROXY UDP4 1.2.3.4'), 8, ProxyHeaderInvalidError, 'v1-protocol', /protocol token/],
      ['UNKNOWNX', Buffer.from('PROXY UNKNOWNX\r\n'), 14, ProxyHeaderInvalidError, 'v1-protocol', /protocol token starting "UNKNOWNX"/],
      ['lower-case tcp4', Buffer.from('PROXY tcp4 '), 7, ProxyHeaderInvalidError, 'v1-protocol', /protocol token/],
      ['a letter in an IPv4 address', Buffer.from('PROXY TCP4 1.2.3.x'), 18, ProxyHeaderInvalidError, 'v1-address', /address "1.2.3.x" is not TCP4 text/],
      ['IPv6 text in a TCP4 line', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), 12, ProxyHeaderInvalidError, 'v1-address', /not TCP4 text/],
      ['a zone in a TCP6 address', Buffer.from('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'), 19, ProxyHeaderInvalidError, 'v1-address', /not TCP6 text/],
      ['two spaces between fields', Buffer.from('PROXY TCP4 1.2.3.4  5.6.7.8'), 20, ProxyHeaderInvalidError, 'v1-syntax', /not exactly one space/],
      ['a fifth field', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), 31, ProxyHeaderInvalidError, 'v1-syntax', /more than 4 fields/],
      ['a sign in a port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n'), 28, ProxyHeaderInvalidError, 'v1-port', /port "\+" is not a decimal/],
      ['a lone LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), 31, ProxyHeaderInvalidError, 'v1-line-ending', /LF without CR at byte 31/],
      ['a CR followed by something else', Buffer.from('PROXY UNKNOWN\rX\r\n'), 15, ProxyHeaderInvalidError, 'v1-line-ending', /CR without LF at byte 14/],
      ['a leading zero in an IPv4 part', Buffer.from('PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n'), 33, ProxyHeaderInvalidError, 'v1-address', /"01.2.3.4" is not an IPv4 address/],
      ['an IPv4 part over 255', Buffer.from('PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'), 34, ProxyHeaderInvalidError, 'v1-address', /"1.2.3.256" is not an IPv4 address/],
      ['dotted quads in a TCP6 line', Buffer.from('PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n'), 32, ProxyHeaderInvalidError, 'v1-address', /"1.2.3.4" is not an IPv6 address/],
      ['a leading zero in a port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'), 33, ProxyHeaderInvalidError, 'v1-port', /"01" is not a port/],
      ['port 65536', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n'), 36, ProxyHeaderInvalidError, 'v1-port', /"65536" is not a port in 0..65535/],
      ['TCP4 without addresses', Buffer.from('PROXY TCP4\r\n'), 12, ProxyHeaderInvalidError, 'v1-syntax', /TCP4 needs 4 fields/],
      ['a trailing space before CRLF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'), 31, ProxyHeaderInvalidError, 'v1-syntax', /more than 4 fields/],
      ['v2 version 3', v2('31 11 000c'), 13, ProxyHeaderInvalidError, 'v2-version', /version 3 \(byte 0x31\), only 2 is defined/],
      ['v2 version 1', v2('11 11 000c'), 13, ProxyHeaderInvalidError, 'v2-version', /version 1/],
      ['v2 command 2', v2('22 11 000c'), 13, ProxyHeaderInvalidError, 'v2-command', /command 2 \(byte 0x22\) is neither LOCAL nor PROXY/],
      ['v2 command 0xf', v2('2f 11 000c'), 13, ProxyHeaderInvalidError, 'v2-command', /command 15/],
      ['v2 family 0x41', v2('21 41 000c'), 14, ProxyHeaderInvalidError, 'v2-family', /family\/transport byte 0x41 is not defined/],
      ['v2 transport 3 (0x13)', v2('21 13 000c'), 14, ProxyHeaderInvalidError, 'v2-family', /0x13 is not defined/],
      ['v2 family 0x01 (UNSPEC family, STREAM)', v2('21 01 0000'), 14, ProxyHeaderInvalidError, 'v2-family', /0x01 is not defined/],
      ['LOCAL with an undefined family', v2('20 45 0000'), 14, ProxyHeaderInvalidError, 'v2-family', /0x45/],
      ['PROXY UDP over IPv4', v2('21 12 000c'), 14, ProxyHeaderUnsupportedError, null, /family 0x12\): a datagram family on a stream connection/],
      ['PROXY UDP over IPv6', v2('21 22 0024'), 14, ProxyHeaderUnsupportedError, null, /family 0x22/],
      ['PROXY UNIX datagram', v2('21 32 00d8'), 14, ProxyHeaderUnsupportedError, null, /family 0x32/],
      ['a v2 length past the 4096-byte default', v2('21 11 0ff1'), 16, ProxyHeaderTooLargeError, null, /v2 header of 4097 bytes exceeds the maximum of 4096 bytes/],
      ['the largest v2 length', v2('21 11 ffff'), 16, ProxyHeaderTooLargeError, null, /65551 bytes/],
    ];
    for (const [name, bytes, at, errorClass, reason, message] of cases) {
      it(`${name}: ${errorClass.name}${reason === null ? '' : ` (${reason})`} at byte ${at}`, () => {
        const { at: decidedAt, result } = decidingByte(bytes);
        const error = errorOf(result);
        expect(decidedAt).to.equal(at);
        expect(error).to.be.instanceOf(errorClass);
        expect(error).to.be.instanceOf(ProxyHeaderError);
        if (reason !== null) expect((error as ProxyHeaderInvalidError).reason).to.equal(reason);
        expect(error.message).to.match(message);
        // The same bytes in one push give the same class and reason (the detail may differ: a whole
        // line is judged by the full parse, a partial one by the early check).
        const once = errorOf(new ProxyHeaderDecoder().push(bytes));
        expect([once.constructor, (once as ProxyHeaderInvalidError).reason]).to.deep.equal([error.constructor, (error as ProxyHeaderInvalidError).reason]);
      });
    }

    it('error classes carry stable codes', () => {
      expect(new ProxyHeaderInvalidError('signature', 'x').code).to.equal('ERR_PROXY_HEADER_INVALID');
      expect(new ProxyHeaderTooLargeError(2, 5000, 4096).code).to.equal('ERR_PROXY_HEADER_TOO_LARGE');
      expect(new ProxyHeaderUnsupportedError(0x12, 'x').code).to.equal('ERR_PROXY_HEADER_UNSUPPORTED');
      expect(new ProxyHeaderIncompleteError(0, 'end').code).to.equal('ERR_PROXY_HEADER_INCOMPLETE');
      expect(new ProxyDecoderStateError('x').code).to.equal('ERR_PROXY_DECODER_STATE');
    });
  });

  describe('v2 commands and families', () => {
    const v2 = (rest: string) => hexBytes(`${V2_SIGNATURE_HEX} ${rest}`);
    const accepted: [string, Buffer, string][] = [
      ['LOCAL UNSPEC, length 0', v2('20 00 0000'), 'v2 local, 16 bytes'],
      ['LOCAL UNSPEC with a TLV', v2('20 00 0006 e00003 616263'), 'v2 local, 22 bytes, tlvs: 0xe0'],
      ['LOCAL TCP4 with its block and a TLV after it', v2('20 11 0011 7f000001 7f000001 0001 0002 050002 6964'), 'v2 local, 33 bytes, tlvs: unique-id'],
      ['LOCAL TCP4 with length 0 (no block at all)', v2('20 11 0000'), 'v2 local, 16 bytes'],
      ['LOCAL TCP6 with 5 opaque bytes (shorter than the block: skipped whole)', v2('20 21 0005 0102030405'), 'v2 local, 21 bytes'],
      ['LOCAL UDP4 (the family is ignored for LOCAL)', v2('20 12 0000'), 'v2 local, 16 bytes'],
      // The spec: LOCAL's block is discarded. HAProxy 2.6 accepts all three.
      ['LOCAL UNSPEC with 5 bytes that are no TLV (discarded)', v2('20 00 0005 0102030405'), 'v2 local, 21 bytes'],
      ['LOCAL TCP4 with its block and 2 stray bytes (discarded)', v2('20 11 000e 7f000001 7f000001 0001 0002 ffff'), 'v2 local, 30 bytes'],
      ['LOCAL with a CRC32C that does not match (discarded)', v2('20 00 0007 030004 00000000'), 'v2 local, 23 bytes'],
      ['PROXY UNSPEC: addresses unknown', v2('21 00 0000'), 'v2 unknown, 16 bytes'],
      ['PROXY UNSPEC with TLVs', v2('21 00 0007 020004 686f7374'), 'v2 unknown, 23 bytes, tlvs: authority'],
      ['PROXY TCP4 with TLVs', v2('21 11 0011 0a000001 0a000002 1f90 0050 010002 6832'), 'v2 tcp4 10.0.0.1:8080 -> 10.0.0.2:80, 33 bytes, tlvs: alpn'],
    ];
    for (const [name, bytes, description] of accepted) {
      it(`${name}: ${description}`, () => {
        const result = new ProxyHeaderDecoder().push(bytes);
        expect(result.kind === 'header' && describeProxyHeader(result.header)).to.equal(description);
      });
    }

    it('LOCAL and UNSPEC carry no addresses: the caller uses the socket\'s', () => {
      const local = new ProxyHeaderDecoder().push(v2('20 11 000c 7f000001 7f000001 0001 0002'));
      expect(local.kind === 'header' && local.header).to.deep.equal({ kind: 'local', version: 2, byteLength: 28, tlvs: [] });
    });

    it('reads known TLVs: ALPN, AUTHORITY, UNIQUE_ID, NETNS; the first of each type wins; all are kept in order', () => {
      const bytes = v2('21 00 0023 010002 6832 020003 612e62 050002 6964 300003 6e7330 020003 632e64 e10001 ff 040000');
      const result = new ProxyHeaderDecoder().push(bytes);
      if (result.kind !== 'header') throw new Error(result.kind);
      const h = result.header;
      expect([h.alpn?.toString(), h.authority, h.uniqueId?.toString(), h.netns]).to.deep.equal(['h2', 'a.b', 'id', 'ns0']);
      expect(h.tlvs.map((t) => t.type)).to.deep.equal([0x01, 0x02, 0x05, 0x30, 0x02, 0xe1, 0x04]);
    });

    const refused: [string, Buffer, string, RegExp][] = [
      ['CRC32C of 3 bytes', v2('21 00 0006 030003 000000'), 'crc32c', /CRC32C TLV of 3 bytes, not 4/],
      ['a wrong CRC32C', v2('21 00 0007 030004 00000000'), 'crc32c', /checksum 0x00000000 does not match the header's 0x/],
      ['SSL TLV of 4 bytes', v2('21 00 0007 200004 01000000'), 'ssl-tlv', /SSL TLV of 4 bytes is shorter than its 5 fixed bytes/],
      ['SSL sub-TLV running past the SSL TLV', v2('21 00 000b 200008 0100000000 210001'), 'ssl-tlv', /an SSL sub-TLV runs past the SSL TLV/],
      ['a TLV header cut short', v2('21 00 0002 0100'), 'tlv-overrun', /a TLV runs past the 2 bytes of TLVs the header declares/],
    ];
    for (const [name, bytes, reason, message] of refused) {
      it(`refuses ${name} (${reason})`, () => {
        const error = errorOf(new ProxyHeaderDecoder().push(bytes));
        expect(error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason });
        expect(error.message).to.match(message);
      });
    }

    it('refuses two CRC32C TLVs even when the first one matches', () => {
      const twice = hexBytes(`${V2_SIGNATURE_HEX} 21 00 000e 030004 00000000 030004 00000000`);
      twice.writeUInt32BE(crc32c(twice, 19), 19);
      const error = errorOf(new ProxyHeaderDecoder().push(twice));
      expect(error).to.be.instanceOf(ProxyHeaderInvalidError).and.include({ reason: 'crc32c' });
      expect(error.message).to.match(/two CRC32C TLVs/);
    });
  });

  describe('states', () => {
    it('v2 byte by byte: AwaitSignature for 11 bytes, AwaitV2Fixed to 15, AwaitV2Payload, Done', () => {
      const bytes = encodeProxyV2({ kind: 'tcp4', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } });
      const decoder = new ProxyHeaderDecoder();
      const states = Array.from(bytes, (b) => {
        decoder.push(Buffer.from([b]));
        return decoder.state;
      });
      expect(decoder.state).to.equal(ProxyDecoderState.Done);
      expect(states).to.deep.equal([
        ...new Array(11).fill('AwaitSignature'),
        ...new Array(4).fill('AwaitV2Fixed'),
        ...new Array(12).fill('AwaitV2Payload'),
        'Done',
      ]);
    });

    it('v1 byte by byte: AwaitSignature for 5 bytes, then AwaitV1Line, then Done', () => {
      const bytes = Buffer.from('PROXY UNKNOWN\r\n');
      const decoder = new ProxyHeaderDecoder();
      const states = Array.from(bytes, (b) => {
        decoder.push(Buffer.from([b]));
        return decoder.state;
      });
      expect(states).to.deep.equal([...new Array(5).fill('AwaitSignature'), ...new Array(9).fill('AwaitV1Line'), 'Done']);
    });

    it('an empty chunk changes nothing', () => {
      const decoder = new ProxyHeaderDecoder();
      expect(decoder.push(Buffer.alloc(0))).to.deep.equal({ kind: 'need-more' });
      decoder.push(Buffer.from('PRO'));
      expect(decoder.push(new Uint8Array(0))).to.deep.equal({ kind: 'need-more' });
      expect([decoder.state, decoder.bufferedBytes]).to.deep.equal(['AwaitSignature', 3]);
    });

    it('a failure is sticky: later pushes return the same error, and nothing is held', () => {
      const decoder = new ProxyHeaderDecoder();
      const first = errorOf(decoder.push(Buffer.from('HELLO')));
      expect(errorOf(decoder.push(Buffer.from('PROXY UNKNOWN\r\n')))).to.equal(first);
      expect([decoder.state, decoder.bufferedBytes, decoder.error]).to.deep.equal(['Failed', 0, first]);
    });

    it('pushing after the header is a usage error: the stream after it is the caller\'s', () => {
      const decoder = new ProxyHeaderDecoder();
      decoder.push(Buffer.from('PROXY UNKNOWN\r\n'));
      expect(() => decoder.push(Buffer.from('x'))).to.throw(ProxyDecoderStateError, /push after the header was decoded/);
      expect(() => decoder.end()).to.throw(ProxyDecoderStateError, /end after the header was decoded/);
      expect(decoder.header?.kind).to.equal('unknown');
    });

    it('accepts a Uint8Array that is not a Buffer', () => {
      const bytes = new Uint8Array(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nabc'));
      const result = new ProxyHeaderDecoder().push(bytes);
      expect(result.kind === 'header' && result.rest.toString()).to.equal('abc');
    });
  });

  describe('end(): no header by the end of input or the deadline', () => {
    it('nothing received: "no PROXY protocol header", 0 bytes', () => {
      const error = new ProxyHeaderDecoder().end('deadline');
      expect(error).to.be.instanceOf(ProxyHeaderIncompleteError).and.include({ code: 'ERR_PROXY_HEADER_INCOMPLETE', receivedBytes: 0, ending: 'deadline' });
      expect(error.message).to.equal('no PROXY protocol header: deadline passed before any byte');
    });

    it('part of a header received: says how much, and the decoder fails', () => {
      const decoder = new ProxyHeaderDecoder();
      decoder.push(Buffer.from('PROXY TCP4 1.2.3.4'));
      const error = decoder.end();
      expect(error.message).to.equal('incomplete PROXY protocol header: connection ended after 18 bytes');
      expect(decoder.state).to.equal(ProxyDecoderState.Failed);
      expect(errorOf(decoder.push(Buffer.from(' 5.6.7.8 1 2\r\n')))).to.equal(error);
    });

    it('after a failure: the failure, not a new error', () => {
      const decoder = new ProxyHeaderDecoder();
      const first = errorOf(decoder.push(Buffer.from('X')));
      expect(decoder.end()).to.equal(first);
    });
  });

  describe('memory', () => {
    it('rest is a view of the pushed chunk, not a copy', () => {
      const chunk = Buffer.from('PROXY UNKNOWN\r\nDATA');
      const result = new ProxyHeaderDecoder().push(chunk);
      expect(result.kind === 'header' && result.rest.buffer).to.equal(chunk.buffer);
      expect(result.kind === 'header' && result.rest.byteOffset).to.equal(chunk.byteOffset + 15);
    });

    it('the header owns its bytes: reusing the chunk (a pooled read buffer) does not change it', () => {
      const path = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(108 - s.length)]).toString('hex');
      const chunk = hexBytes(`${V2_SIGNATURE_HEX} 21 31 00de ${path('/a')} ${path('/b')} e00003 616263`);
      const result = new ProxyHeaderDecoder().push(chunk);
      if (result.kind !== 'header' || result.header.kind !== 'unix') throw new Error('expected a unix header');
      chunk.fill(0x58);
      expect([result.header.source.path.toString(), result.header.destination.path.toString(), result.header.tlvs[0]!.value.toString()]).to.deep.equal(['/a', '/b', 'abc']);
    });

    it('holds a split header\'s bytes until it completes, then nothing', () => {
      const decoder = new ProxyHeaderDecoder();
      decoder.push(Buffer.from('PROXY UNKNOWN'));
      expect(decoder.bufferedBytes).to.equal(13);
      decoder.push(Buffer.from('\r\nmore bytes than the header needs'));
      expect(decoder.bufferedBytes).to.equal(0);
    });
  });

  describe('options', () => {
    for (const bad of [231, 65552, 1000.5, -1, Number.NaN]) {
      it(`maxHeaderBytes ${bad} is refused with the option's name and bounds`, () => {
        expect(() => new ProxyHeaderDecoder({ maxHeaderBytes: bad })).to.throw(InvalidOptionError, /^maxHeaderBytes must be a whole number in 232\.\.65551, got /);
      });
    }

    it('defaults to 4096', () => {
      expect(new ProxyHeaderDecoder().maxHeaderBytes).to.equal(4096);
    });
  });
});
