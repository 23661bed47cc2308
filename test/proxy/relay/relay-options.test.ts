import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createServer, type Socket } from 'node:net';
import { relay, type RelayOptions } from '../../../proxy/index.js';
import { OptionRangeError, OptionTypeError } from '../../../proxy/relay/option-checks.js';
import { connectTo, listen, nextConnection, Resources } from '../../helpers/sockets.js';

type Refusal = [options: Record<string, unknown>, error: typeof OptionTypeError | typeof OptionRangeError, message: string];

// Each of these used to be taken, then throw from the first 'data' event (an uncaught exception
// that ends the caller's server), or to turn a timeout off without a word.
const refusals: Refusal[] = [
  [{ windowBytes: -1 }, OptionRangeError, 'windowBytes must be a whole number from 1 to 4294967295, got -1'],
  [{ windowBytes: 0 }, OptionRangeError, 'windowBytes must be a whole number from 1 to 4294967295, got 0'],
  [{ windowBytes: NaN }, OptionRangeError, 'windowBytes must be a whole number from 1 to 4294967295, got NaN'],
  [{ windowBytes: 1.5 }, OptionRangeError, 'windowBytes must be a whole number from 1 to 4294967295, got 1.5'],
  [{ windowBytes: '64KiB' }, OptionTypeError, 'windowBytes must be a whole number from 1 to 4294967295, got "64KiB"'],
  [{ windowBytes: 1000, lowBytes: 1000 }, OptionRangeError, 'lowBytes must be below windowBytes (1000), got 1000'],
  [{ lowBytes: 256 * 1024 }, OptionRangeError, 'lowBytes must be below windowBytes (262144), got 262144'],
  [{ idleTimeoutMs: -1 }, OptionRangeError, 'idleTimeoutMs must be a whole number from 0 to 2147483647, got -1'],
  [{ idleTimeoutMs: NaN }, OptionRangeError, 'idleTimeoutMs must be a whole number from 0 to 2147483647, got NaN'],
  [{ idleTimeoutMs: '1h' }, OptionTypeError, 'idleTimeoutMs must be a whole number from 0 to 2147483647, got "1h"'],
  [{ halfCloseTimeoutMs: NaN }, OptionRangeError, 'halfCloseTimeoutMs must be a whole number from 0 to 2147483647, got NaN'],
  [{ rateBytesPerS: -1 }, OptionRangeError, 'rateBytesPerS must be a whole number >= 0, got -1'],
  [{ now: 5 }, OptionTypeError, 'now must be a function, got 5'],
  [{ messages: 'lines' }, OptionTypeError, 'messages must be an object, got "lines"'],
  [{ messages: { framing: 'bogus', policy: 'block' } }, OptionRangeError, `messages.framing must be one of 'lines', 'u32be', got "bogus"`],
  [{ messages: {} }, OptionTypeError, `messages.framing must be one of 'lines', 'u32be', got undefined`],
  [{ messages: { framing: 'lines', policy: 'drop' } }, OptionRangeError, `messages.policy must be one of 'block', 'drop-newest', 'drop-oldest', 'spill', got "drop"`],
];

describe('relay(): options are checked when it is made', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  for (const [options, error, message] of refusals) {
    it(`${JSON.stringify(options, (_k, v: unknown) => (Number.isNaN(v) ? 'NaN' : v))}: ${error.name}`, () => {
      const [a, b] = [new PassThrough(), new PassThrough()];
      res.defer(() => [a, b].forEach((s) => s.destroy()));
      expect(() => relay(a, b, options as RelayOptions))
        .to.throw(error, message)
        .with.property('code', error === OptionTypeError ? 'ERR_INVALID_OPTION_TYPE' : 'ERR_OPTION_OUT_OF_RANGE');
      // Nothing was wired: the streams were left as they were.
      expect(a.listenerCount('data') + a.listenerCount('close') + b.listenerCount('data') + b.listenerCount('close')).to.equal(0);
    });
  }

  it('takes the bounds themselves: lowBytes one below the window, timeouts of 0 (off)', () => {
    const [a, b] = [new PassThrough(), new PassThrough()];
    res.defer(() => [a, b].forEach((s) => s.destroy()));
    const r = relay(a, b, { windowBytes: 1, lowBytes: 0, idleTimeoutMs: 0, halfCloseTimeoutMs: 0, rateBytesPerS: 0 });
    r.abort();
  });

  it('close() with no arguments closes politely (FIN each way) and reports the end as closed', async () => {
    const front = res.server(createServer({ allowHalfOpen: true }));
    const back = res.server(createServer({ allowHalfOpen: true }));
    const [frontPort, backPort] = await Promise.all([listen(front), listen(back)]);
    const accepted = nextConnection(front);
    const client = res.socket(await connectTo(frontPort));
    const near = await accepted;
    const targetAccepted = nextConnection(back);
    const dialled = res.socket(await connectTo(backPort));
    const target = await targetAccepted;
    const r = relay(near, dialled);
    const sawEnd = (s: Socket) => new Promise<void>((resolve) => s.once('end', () => (s.end(), resolve())));
    const ends = Promise.all([sawEnd(client), sawEnd(target)]);
    r.close();
    await ends;
    expect((await r.done).end).to.equal('closed');
  });
});
