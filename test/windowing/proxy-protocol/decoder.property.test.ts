import { expect } from 'chai';
import fc from 'fast-check';
import { SocketAddress } from 'node:net';
import {
  encodeProxyV1,
  ProxyDecoderStateError,
  ProxyHeaderDecoder,
  ProxyHeaderError,
  ProxyHeaderInvalidError,
  ProxyHeaderTooLargeError,
  ProxyHeaderUnsupportedError,
  type ProxyDecodeResult,
} from '../../../windowing/index.js';
import { cutAtFractions } from '../../helpers/chunking.js';
import { naiveParseProxyHeader, type NaiveResult } from '../../helpers/naive-proxy-header.js';
import { comparable, headerBytesArb, mutate, mutationArb, pushChunks, V2_SIGNATURE_HEX, v2HeaderArb, v1LineArb } from '../../helpers/proxy-header-cases.js';
import { SeededRandom } from '../../helpers/seeded-random.js';

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });
const trailingArb = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
const maxArb = fc.constantFrom(232, 300, 4096, 65551);

/** Bytes that start like a header often enough to get past the first byte. */
const startsLikeHeaderArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([Buffer.from(V2_SIGNATURE_HEX, 'hex'), Buffer.from(b)])),
  fc.tuple(fc.constantFrom(0x20, 0x21, 0x22, 0x31), fc.constantFrom(0x00, 0x11, 0x12, 0x21, 0x31, 0x44), fc.integer({ min: 0, max: 0x200 }), fc.uint8Array({ maxLength: 300 })).map(([vc, fam, len, rest]) => {
    const fixed = Buffer.from(`${V2_SIGNATURE_HEX}000000`.padEnd(32, '0'), 'hex');
    fixed[12] = vc;
    fixed[13] = fam;
    fixed.writeUInt16BE(len, 14);
    return Buffer.concat([fixed, Buffer.from(rest)]);
  }),
  fc.string({ unit: fc.constantFrom(...'PROXY TCP46UNKOW0123456789.:abcdef \r\n'.split('')), maxLength: 120 }).map((s) => Buffer.from(`PROXY ${s}`, 'latin1')),
);

function withoutTrailingNuls(path: Buffer): Buffer {
  let end = path.length;
  while (end > 0 && path[end - 1] === 0) end--;
  return path.subarray(0, end);
}

function isTyped(error: unknown): boolean {
  return error instanceof ProxyHeaderInvalidError || error instanceof ProxyHeaderTooLargeError || error instanceof ProxyHeaderUnsupportedError;
}

/** The decoder's verdict on all of `bytes` pushed in the given chunks. */
function verdict(chunks: Buffer[], maxHeaderBytes: number): ProxyDecodeResult {
  return pushChunks(chunks, { maxHeaderBytes }).result;
}

/** Checks the decoder against the naive parser on the same bytes (see the rules in the test title). */
function agree(decoder: ProxyDecodeResult, naive: NaiveResult, label: string): void {
  switch (naive.kind) {
    case 'header':
      expect(decoder.kind, label).to.equal('header');
      if (decoder.kind === 'header') expect(comparable(decoder.header), label).to.deep.equal(naive.header);
      break;
    case 'error':
      expect(decoder.kind, label).to.equal('error');
      if (decoder.kind === 'error') {
        // A v1 line too long may already have been judged invalid by the early check.
        const allowed = naive.code === 'ERR_PROXY_HEADER_TOO_LARGE' && naive.code !== decoder.error.code ? decoder.error.code === 'ERR_PROXY_HEADER_INVALID' : decoder.error.code === naive.code;
        expect(allowed, `${label}: decoder ${decoder.error.code} (${decoder.error.message}), naive ${naive.code}`).to.equal(true);
      }
      break;
    case 'need-more':
      // The decoder may refuse early what no ending could make valid (checked by the next property).
      expect(decoder.kind, label).to.not.equal('header');
      break;
  }
}

describe('ProxyHeaderDecoder properties (fast-check)', () => {
  it('arbitrary bytes, cut anywhere: need-more, a header, or a typed error, never a throw; never a byte past the declared length', () => {
    fc.assert(
      fc.property(startsLikeHeaderArb, cutsArb, maxArb, (bytes, cuts, maxHeaderBytes) => {
        const decoder = new ProxyHeaderDecoder({ maxHeaderBytes });
        let pushed = 0;
        for (const chunk of cutAtFractions(bytes, cuts)) {
          let result: ProxyDecodeResult;
          try {
            result = decoder.push(chunk);
          } catch (err) {
            expect.fail(`push threw ${String(err)}`);
          }
          pushed += chunk.length;
          expect(decoder.bufferedBytes).to.be.at.most(Math.max(107, maxHeaderBytes));
          if (result.kind === 'error') {
            expect(isTyped(result.error), String(result.error)).to.equal(true);
            expect(result.error).to.be.instanceOf(ProxyHeaderError);
            return;
          }
          if (result.kind === 'header') {
            const consumed = pushed - result.rest.length;
            expect(consumed).to.equal(result.header.byteLength);
            expect(result.rest.equals(bytes.subarray(consumed, pushed))).to.equal(true);
            expect(() => decoder.push(Buffer.alloc(1))).to.throw(ProxyDecoderStateError);
            return;
          }
        }
        expect(decoder.bufferedBytes).to.equal(pushed);
      }),
      { numRuns: 3000 },
    );
  });

  it('round trip: any v2 header from the encoder, cut anywhere, decodes to what was encoded, then exactly the bytes after it', () => {
    fc.assert(
      fc.property(v2HeaderArb, trailingArb, cutsArb, ({ addresses, tlvs, crc32c, bytes }, after, cuts) => {
        const outcome = pushChunks(cutAtFractions(Buffer.concat([bytes, after]), cuts), { maxHeaderBytes: 65551 });
        if (outcome.result.kind !== 'header') expect.fail(outcome.result.kind === 'error' ? outcome.result.error.message : 'need-more');
        const h = outcome.result.header;
        expect(h.byteLength).to.equal(bytes.length);
        expect(outcome.after.equals(after)).to.equal(true);
        expect(h.kind).to.equal(addresses.kind);
        if ((h.kind === 'tcp4' || h.kind === 'tcp6') && (addresses.kind === 'tcp4' || addresses.kind === 'tcp6')) {
          const family = h.kind === 'tcp4' ? 'ipv4' : 'ipv6';
          const inNodeForm = (e: { address: string; port: number }) => ({ address: new SocketAddress({ address: e.address, family }).address, port: e.port });
          expect([h.source, h.destination]).to.deep.equal([inNodeForm(addresses.source), inNodeForm(addresses.destination)]);
        }
        if (h.kind === 'unix' && addresses.kind === 'unix') {
          expect([h.source.path, h.destination.path].map((p) => p.toString('hex'))).to.deep.equal([addresses.source.path, addresses.destination.path].map((p) => withoutTrailingNuls(p).toString('hex')));
        }
        // The encoder puts its CRC32C first, then the TLVs as given.
        expect(h.tlvs.map((t) => [t.type, t.value.toString('hex')]).slice(crc32c ? 1 : 0)).to.deep.equal(tlvs.map((t) => [t.type, t.value.toString('hex')]));
        if (crc32c) expect(h.tlvs[0]!.type).to.equal(0x03);
        expect(h.crc32c !== undefined).to.equal(crc32c);
      }),
      { numRuns: 500 },
    );
  });

  it('round trip: v1 lines, written by the encoder or by hand in any valid address form, decode the same whole or cut', () => {
    fc.assert(
      fc.property(v1LineArb, trailingArb, cutsArb, (line, after, cuts) => {
        const whole = verdict([Buffer.concat([line, after])], 4096);
        if (whole.kind !== 'header') expect.fail(`${JSON.stringify(line.toString('latin1'))}: ${whole.kind === 'error' ? whole.error.message : 'need-more'}`);
        expect(whole.header.byteLength).to.equal(line.length);
        const outcome = pushChunks(cutAtFractions(Buffer.concat([line, after]), cuts));
        expect(outcome.result.kind === 'header' && outcome.result.header).to.deep.equal(whole.header);
        expect(outcome.after.equals(after)).to.equal(true);
        // Re-encoding a TCP header gives a line that decodes to the same addresses.
        if (whole.header.kind === 'tcp4' || whole.header.kind === 'tcp6') {
          const again = verdict([encodeProxyV1(whole.header)], 4096);
          expect(again.kind === 'header' && [again.header.kind, again.header.kind !== 'unknown' && again.header.kind !== 'local' && again.header.source]).to.deep.equal([whole.header.kind, whole.header.source]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the naive parser on generated headers, mutated headers and arbitrary bytes (header: same; error: same code; naive need-more: decoder need-more or early error)', () => {
    const input = fc.oneof(
      fc.tuple(headerBytesArb, trailingArb).map(([h, t]) => Buffer.concat([h, t])),
      fc.tuple(headerBytesArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), trailingArb).map(([h, ms, t]) => Buffer.concat([ms.reduce(mutate, h), t])),
      startsLikeHeaderArb,
    );
    fc.assert(
      fc.property(input, cutsArb, maxArb, (bytes, cuts, maxHeaderBytes) => {
        const naive = naiveParseProxyHeader(bytes, maxHeaderBytes);
        const whole = verdict([bytes], maxHeaderBytes);
        const cut = verdict(cutAtFractions(bytes, cuts), maxHeaderBytes);
        const label = bytes.toString('hex').slice(0, 120);
        agree(whole, naive, `whole ${label}`);
        agree(cut, naive, `cut ${label}`);
        if (whole.kind === 'need-more') expect(naive.kind, label).to.equal('need-more');
        if (whole.kind === 'header' && cut.kind === 'header') expect(cut.header).to.deep.equal(whole.header);
      }),
      { numRuns: 3000 },
    );
  });

  it('early rejection is never premature: no ending turns bytes the decoder refused into a header (by the naive parser)', () => {
    const prefixArb = fc.oneof(
      startsLikeHeaderArb.map((b) => b.subarray(0, 60)),
      fc.tuple(headerBytesArb, mutationArb).map(([h, m]) => mutate(h, m).subarray(0, Math.max(1, h.length - 2))),
    );
    const endingArb = fc.oneof(
      fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)),
      fc.string({ unit: fc.constantFrom(...'0123456789.: abcdef\r\n'.split('')), maxLength: 60 }).map((s) => Buffer.from(`${s}\r\n`, 'latin1')),
    );
    fc.assert(
      fc.property(prefixArb, fc.array(endingArb, { minLength: 1, maxLength: 4 }), (prefix, endings) => {
        const early = verdict([prefix], 65551);
        if (early.kind !== 'error') return;
        for (const ending of endings) {
          const naive = naiveParseProxyHeader(Buffer.concat([prefix, ending]), 65551);
          expect(naive.kind, `${JSON.stringify(prefix.toString('latin1'))} + ${JSON.stringify(ending.toString('latin1'))}`).to.not.equal('header');
        }
      }),
      { numRuns: 2000 },
    );
  });

  describe('seeded random headers against the naive parser, every seed named', () => {
    for (const seed of [7, 1234, 99991]) {
      it(`seed=${seed}: 300 encoder-built v2 headers with random addresses and TLVs, random splits`, () => {
        const rng = new SeededRandom(seed);
        for (const { bytes } of fc.sample(v2HeaderArb, { seed, numRuns: 300 })) {
          const chunks: Buffer[] = [];
          for (let at = 0; at < bytes.length; ) {
            const n = rng.int(1, 40);
            chunks.push(bytes.subarray(at, at + n));
            at += n;
          }
          const naive = naiveParseProxyHeader(bytes, 65551);
          agree(verdict(chunks, 65551), naive, bytes.toString('hex'));
          expect(naive.kind).to.equal('header');
        }
      });
    }
  });
});
