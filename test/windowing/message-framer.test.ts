import { expect } from 'chai';
import fc from 'fast-check';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  LINE_TERMINATOR,
  MAX_MESSAGE_LIMIT_BYTES,
  MESSAGE_FRAMINGS,
  MessageFramer,
  MessageTooLargeError,
  U32BE_PREFIX_BYTES,
  type MessageFraming,
} from '../../windowing/index.js';
import { randomChunks, seededRandom } from '../../scenarios/harness/random.js';

/** The bytes to send for one message body in a framing. */
function encode(framing: MessageFraming, body: Buffer): Buffer {
  if (framing === 'lines') return Buffer.concat([body, Buffer.from([LINE_TERMINATOR])]);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

/** A deliberately naive splitter over the whole input at once, to compare the framer with. */
function naiveSplit(framing: MessageFraming, data: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let i = 0;
  for (;;) {
    if (framing === 'lines') {
      let j = i;
      while (j < data.length && data[j] !== 0x0a) j++;
      if (j === data.length) break;
      messages.push(data.subarray(i, j + 1));
      i = j + 1;
    } else {
      if (data.length - i < 4) break;
      const n = data.readUInt32BE(i);
      if (data.length - i < 4 + n) break;
      messages.push(data.subarray(i, i + 4 + n));
      i += 4 + n;
    }
  }
  return { messages, rest: data.subarray(i) };
}

/** Message bodies of assorted sizes, none containing '\n' (so they are valid lines too). */
function bodies(seed: number, count: number, maxSize: number): Buffer[] {
  const rnd = seededRandom(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = i % 7 === 0 ? 0 : Math.floor(rnd() * maxSize);
    const body = Buffer.alloc(size);
    for (let k = 0; k < size; k++) {
      const b = Math.floor(rnd() * 255);
      body[k] = b >= 0x0a ? b + 1 : b; // skips '\n'; '\r' and 0 stay in
    }
    out.push(body);
  }
  return out;
}

function feed(framer: MessageFramer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

describe('MessageFramer', () => {
  it('pins the framing constants', () => {
    expect(MESSAGE_FRAMINGS).to.deep.equal(['lines', 'u32be']);
    expect(U32BE_PREFIX_BYTES).to.equal(4);
    expect(LINE_TERMINATOR).to.equal(0x0a);
    expect(DEFAULT_MAX_MESSAGE_BYTES).to.equal(1048576);
    expect(MAX_MESSAGE_LIMIT_BYTES).to.equal(0xffffffff);
    expect(new MessageFramer({ framing: 'lines' }).maxMessageBytes).to.equal(DEFAULT_MAX_MESSAGE_BYTES);
  });

  for (const framing of MESSAGE_FRAMINGS) {
    describe(`${framing}: chunking matrix`, () => {
      const messages = bodies(11, 300, 200).map((b) => encode(framing, b));
      // Long ones too, spanning many 5-byte pieces and random chunks.
      messages.push(...bodies(12, 5, 5000).map((b) => encode(framing, b)));
      const stream = Buffer.concat(messages);
      const splits: [string, Buffer[]][] = [
        ['whole (many messages per chunk)', [stream]],
        ['one message per chunk', messages],
        ['byte by byte', pieces(stream, 1)],
        ['5-byte pieces', pieces(stream, 5)],
        ['3-byte pieces (prefix split every way)', pieces(stream, 3)],
      ];
      for (const seed of [1, 2, 3, 4, 5]) splits.push([`random splits up to 700 bytes (seed ${seed})`, randomChunks(stream, 700, seed)]);
      for (const seed of [6, 7]) splits.push([`random splits up to 9 bytes (seed ${seed})`, randomChunks(stream, 9, seed)]);
      for (const [name, chunks] of splits) {
        it(`${name}: ${messages.length} messages back whole, byte-identical, in order`, () => {
          const framer = new MessageFramer({ framing });
          const got = feed(framer, chunks);
          expect(got.length).to.equal(messages.length);
          for (let i = 0; i < messages.length; i++) expect(got[i]!.equals(messages[i]!), `message ${i}`).to.equal(true);
          expect(framer.messages).to.equal(messages.length);
          expect(framer.bufferedBytes).to.equal(0);
          expect(framer.finish()).to.deep.equal({ kind: 'none' });
        });
      }
    });

    it(`${framing}: a message inside one chunk is a view of it; one spanning chunks is a single copy`, () => {
      const a = encode(framing, Buffer.from('alpha'));
      const b = encode(framing, Buffer.from('bravo-bravo'));
      const chunk1 = Buffer.concat([a, b.subarray(0, 6)]);
      const chunk2 = Buffer.from(b.subarray(6));
      const framer = new MessageFramer({ framing });
      const [first] = framer.push(chunk1);
      expect(first!.buffer).to.equal(chunk1.buffer);
      expect(first!.byteOffset).to.equal(chunk1.byteOffset);
      expect(framer.bufferedBytes).to.equal(6);
      const [second] = framer.push(chunk2);
      expect(second!.equals(b)).to.equal(true);
      // A copy: overwriting both chunks leaves it intact.
      chunk1.fill(0);
      chunk2.fill(0);
      expect(second!.equals(b)).to.equal(true);
    });

    it(`${framing}: matches a naive whole-input splitter on random bytes (seeds 21..30)`, () => {
      for (let seed = 21; seed <= 30; seed++) {
        const rnd = seededRandom(seed);
        // Mostly-small random u32be prefixes and frequent newlines, so both framings find messages.
        const data = Buffer.alloc(4000);
        for (let i = 0; i < data.length; i++) data[i] = rnd() < 0.05 ? 0x0a : rnd() < 0.7 ? 0 : Math.floor(rnd() * 256);
        const want = naiveSplit(framing, data);
        const framer = new MessageFramer({ framing, maxMessageBytes: MAX_MESSAGE_LIMIT_BYTES });
        const got = feed(framer, randomChunks(data, 50, seed));
        expect(Buffer.concat(got).equals(Buffer.concat(want.messages)), `seed ${seed}`).to.equal(true);
        expect(got.length, `seed ${seed}`).to.equal(want.messages.length);
        expect(framer.bufferedBytes, `seed ${seed}`).to.equal(want.rest.length);
      }
    });
  }

  describe('limits', () => {
    const max = 10;
    it('lines: a line of exactly the limit (newline not counted) passes, byte by byte too', () => {
      const line = Buffer.from('0123456789\n');
      expect(feed(new MessageFramer({ framing: 'lines', maxMessageBytes: max }), [line])).to.have.length(1);
      const framer = new MessageFramer({ framing: 'lines', maxMessageBytes: max });
      const got = feed(framer, pieces(line, 1));
      expect(got).to.have.length(1);
      expect(got[0]!.equals(line)).to.equal(true);
      expect(framer.error).to.equal(null);
    });

    it('lines: one byte past the limit is refused on the byte that crosses it, without waiting for the newline', () => {
      const framer = new MessageFramer({ framing: 'lines', maxMessageBytes: max });
      const calls: number[] = [];
      for (const [i, piece] of pieces(Buffer.from('ok\n0123456789A'), 1).entries()) {
        framer.push(piece);
        if (framer.error !== null) calls.push(i);
      }
      expect(calls[0]).to.equal(13); // the 11th byte of the second line
      const err = framer.error!;
      expect(err).to.be.instanceOf(MessageTooLargeError);
      expect(err.code).to.equal('SLUICE_MESSAGE_TOO_LARGE');
      expect(err.framing).to.equal('lines');
      expect(err.limitBytes).to.equal(10);
      expect(err.sizeBytes).to.equal(11);
      expect(err.message).to.equal('line longer than the --max-message limit of 10 bytes (at least 11 before its newline)');
      expect(framer.bufferedBytes).to.equal(0);
    });

    it('lines: returns the whole messages before the long one in the same chunk, then takes nothing more', () => {
      const framer = new MessageFramer({ framing: 'lines', maxMessageBytes: max });
      const got = framer.push(Buffer.from('a\nbb\n0123456789AB\nc\n'));
      expect(got.map(String)).to.deep.equal(['a\n', 'bb\n']);
      expect(framer.error!.sizeBytes).to.equal(12);
      expect(framer.push(Buffer.from('d\n'))).to.deep.equal([]);
      expect(framer.finish()).to.deep.equal({ kind: 'none' });
    });

    it('lines: a partial line held across chunks counts towards the limit', () => {
      const framer = new MessageFramer({ framing: 'lines', maxMessageBytes: max });
      expect(framer.push(Buffer.from('01234'))).to.deep.equal([]);
      expect(framer.push(Buffer.from('56789'))).to.deep.equal([]);
      expect(framer.error).to.equal(null);
      expect(framer.push(Buffer.from('X\n'))).to.deep.equal([]);
      expect(framer.error!.sizeBytes).to.equal(11);
    });

    const prefixCases: { declared: number; limit: number; rejected: boolean }[] = [
      { declared: 0, limit: 10, rejected: false },
      { declared: 10, limit: 10, rejected: false },
      { declared: 11, limit: 10, rejected: true },
      { declared: 0xffffffff, limit: 10, rejected: true },
      { declared: 0xffffffff, limit: 0xfffffffe, rejected: true },
      { declared: 0xffffffff, limit: 0xffffffff, rejected: false },
    ];
    for (const c of prefixCases) {
      it(`u32be: a prefix declaring ${c.declared} with limit ${c.limit} is ${c.rejected ? 'refused from the prefix alone' : 'accepted'}`, () => {
        const framer = new MessageFramer({ framing: 'u32be', maxMessageBytes: c.limit });
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(c.declared, 0);
        // Prefix split 1 + 3 so the check runs on a prefix that spanned chunks.
        const got = [...framer.push(prefix.subarray(0, 1)), ...framer.push(prefix.subarray(1))];
        if (c.rejected) {
          expect(framer.error).to.be.instanceOf(MessageTooLargeError);
          expect(framer.error!.code).to.equal('SLUICE_MESSAGE_TOO_LARGE');
          expect(framer.error!.sizeBytes).to.equal(c.declared);
          expect(framer.error!.message).to.equal(`u32be length prefix declares ${c.declared} bytes, over the --max-message limit of ${c.limit}`);
          expect(framer.bufferedBytes).to.equal(0);
        } else {
          expect(framer.error).to.equal(null);
          expect(got).to.have.length(c.declared === 0 ? 1 : 0);
        }
      });
    }

    it('u32be: a body of exactly the limit is delivered, prefix included', () => {
      const msg = encode('u32be', Buffer.alloc(10, 7));
      const framer = new MessageFramer({ framing: 'u32be', maxMessageBytes: 10 });
      const got = feed(framer, pieces(msg, 5));
      expect(got).to.have.length(1);
      expect(got[0]!.equals(msg)).to.equal(true);
    });

    it('u32be: a peer announcing a large message but sending little costs little memory', () => {
      const framer = new MessageFramer({ framing: 'u32be' });
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(DEFAULT_MAX_MESSAGE_BYTES, 0);
      framer.push(Buffer.concat([prefix, Buffer.from('x')]));
      const span = (framer as unknown as { span: Buffer }).span;
      expect(framer.bufferedBytes).to.equal(5);
      expect(span.length).to.be.at.most(256);
      // Then grows by doubling with the bytes actually received, never past the message.
      for (let i = 0; i < 100; i++) framer.push(Buffer.alloc(10_000));
      const grown = (framer as unknown as { span: Buffer }).span;
      expect(grown.length).to.be.at.most(2 * framer.bufferedBytes);
      expect(grown.length).to.be.at.most(4 + DEFAULT_MAX_MESSAGE_BYTES);
    });
  });

  describe('end of input', () => {
    it('lines: a last line without its newline is delivered as it is (no newline added)', () => {
      const framer = new MessageFramer({ framing: 'lines' });
      expect(framer.push(Buffer.from('one\ntw')).map(String)).to.deep.equal(['one\n']);
      framer.push(Buffer.from('o'));
      const end = framer.finish();
      expect(end.kind).to.equal('message');
      expect(String((end as { message: Buffer }).message)).to.equal('two');
      expect(framer.messages).to.equal(2);
      expect(framer.finish()).to.deep.equal({ kind: 'none' });
    });

    const cuts: [string, Buffer, number][] = [
      ['in the prefix', Buffer.from([0, 0]), 2],
      ['right after the prefix', Buffer.from([0, 0, 0, 5]), 4],
      ['in the body', Buffer.from([0, 0, 0, 5, 1, 2]), 6],
    ];
    for (const [where, data, held] of cuts) {
      it(`u32be: a message cut ${where} is reported incomplete (${held} bytes), never delivered`, () => {
        const framer = new MessageFramer({ framing: 'u32be' });
        expect(framer.push(data)).to.deep.equal([]);
        expect(framer.finish()).to.deep.equal({ kind: 'incomplete', bytes: held });
        expect(framer.messages).to.equal(0);
      });
    }

    it('ends cleanly on a message boundary', () => {
      for (const framing of MESSAGE_FRAMINGS) {
        const framer = new MessageFramer({ framing });
        framer.push(encode(framing, Buffer.from('x')));
        expect(framer.finish()).to.deep.equal({ kind: 'none' });
      }
    });
  });

  it('ignores empty chunks', () => {
    const framer = new MessageFramer({ framing: 'u32be' });
    expect(framer.push(Buffer.alloc(0))).to.deep.equal([]);
    expect(framer.bufferedBytes).to.equal(0);
  });

  const bad: [unknown, unknown, RegExp][] = [
    ['csv', undefined, /framing must be one of lines, u32be, got csv/],
    ['lines', 0, /maxMessageBytes must be a whole number from 1 to 4294967295, got 0/],
    ['u32be', 2 ** 32, /maxMessageBytes .* got 4294967296/],
    ['u32be', 1.5, /maxMessageBytes .* got 1.5/],
  ];
  for (const [framing, max, message] of bad) {
    it(`rejects framing=${String(framing)} maxMessageBytes=${String(max)} naming the option`, () => {
      expect(() => new MessageFramer({ framing: framing as MessageFraming, maxMessageBytes: max as number })).to.throw(RangeError, message);
    });
  }

  for (const framing of MESSAGE_FRAMINGS) {
    it(`${framing}: property: any messages, split anywhere, come back exactly`, () => {
      const body = fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u.map((b) => (b === 0x0a ? 0x0b : b))));
      fc.assert(
        fc.property(fc.array(body, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 30 }), (msgs, cutSeeds) => {
          const encoded = msgs.map((m) => encode(framing, m));
          const stream = Buffer.concat(encoded);
          const cuts = [...new Set(cutSeeds.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const c of cuts) {
            chunks.push(stream.subarray(prev, c));
            prev = c;
          }
          chunks.push(stream.subarray(prev));
          const framer = new MessageFramer({ framing, maxMessageBytes: 300 });
          const got = feed(framer, chunks);
          expect(got.length).to.equal(encoded.length);
          got.forEach((m, i) => expect(m.equals(encoded[i]!)).to.equal(true));
          expect(framer.finish()).to.deep.equal({ kind: 'none' });
        }),
        { seed: 42, numRuns: 300 },
      );
    });
  }
});
