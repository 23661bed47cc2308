import { expect } from 'chai';
import sinon from 'sinon';
import { RelayServer, type Address, type RelayServerOptions } from '../../../proxy/index.js';
import { OptionRangeError, OptionTypeError } from '../../../proxy/relay/option-checks.js';
import { sharedLoopDelayReaders } from '../../../proxy/signals/event-loop-monitor.js';
import { ToxicSpecError } from '../../../proxy/stages/toxics/index.js';

const listen: Address = { kind: 'tcp', host: '127.0.0.1', port: 0 };
const target: Address = { kind: 'tcp', host: '127.0.0.1', port: 1 };

type Refusal = [options: Record<string, unknown>, error: new (...args: never[]) => Error, message: string | RegExp];

// Each of these used to pass the constructor and then fail every connection (or, for the
// timeouts and the rate, be taken without a word), or to throw after the governor had started.
const refusals: Refusal[] = [
  [{ maxConns: -1 }, OptionRangeError, 'maxConns must be a whole number >= 0, got -1'],
  [{ maxConns: 1.5 }, OptionRangeError, 'maxConns must be a whole number >= 0, got 1.5'],
  [{ maxConns: '10' }, OptionTypeError, 'maxConns must be a whole number >= 0, got "10"'],
  [{ maxQueue: -1 }, OptionRangeError, 'maxQueue must be a whole number >= 0, got -1'],
  [{ windowBytes: -1 }, OptionRangeError, 'windowBytes must be a whole number from 1 to 4294967295, got -1'],
  [{ windowBytes: '64KiB' }, OptionTypeError, 'windowBytes must be a whole number from 1 to 4294967295, got "64KiB"'],
  [{ queueTimeoutMs: -1 }, OptionRangeError, 'queueTimeoutMs must be a whole number from 1 to 2147483647, got -1'],
  [{ queueTimeoutMs: '5s' }, OptionTypeError, 'queueTimeoutMs must be a whole number from 1 to 2147483647, got "5s"'],
  [{ connectTimeoutMs: -1 }, OptionRangeError, 'connectTimeoutMs must be a whole number from 1 to 2147483647, got -1'],
  [{ connectTimeoutMs: '5s' }, OptionTypeError, 'connectTimeoutMs must be a whole number from 1 to 2147483647, got "5s"'],
  [{ idleTimeoutMs: '1h' }, OptionTypeError, 'idleTimeoutMs must be a whole number from 0 to 2147483647, got "1h"'],
  [{ idleTimeoutMs: NaN }, OptionRangeError, 'idleTimeoutMs must be a whole number from 0 to 2147483647, got NaN'],
  [{ halfCloseTimeoutMs: -1 }, OptionRangeError, 'halfCloseTimeoutMs must be a whole number from 0 to 2147483647, got -1'],
  [{ rateBytesPerS: -1 }, OptionRangeError, 'rateBytesPerS must be a whole number >= 0, got -1'],
  [{ memoryBudgetBytes: 0 }, OptionRangeError, 'memoryBudgetBytes must be a whole number >= 65536, got 0'],
  [{ shedAt: 2 }, OptionRangeError, 'shedAt must be a number above 0 and at most 1, got 2'],
  [{ messages: 'bogus' }, OptionRangeError, `messages must be one of 'lines', 'u32be', got "bogus"`],
  [{ overflow: 'bogus' }, OptionRangeError, `overflow must be one of 'block', 'drop-newest', 'drop-oldest', 'spill', got "bogus"`],
  [{ readPath: 'bogus' }, OptionRangeError, `readPath must be one of 'onread', 'stream', got "bogus"`],
  [{ sendProxy: 'v3' }, OptionRangeError, `sendProxy must be one of 'v1', 'v2', got "v3"`],
  [{ listen: '127.0.0.1:0' }, OptionTypeError, /^listen must be an Address .*use parseAddress\("127\.0\.0\.1:0"\), got "127\.0\.0\.1:0"$/],
  [{ target: '127.0.0.1:6379' }, OptionTypeError, /^target must be an Address .*use parseAddress\("127\.0\.0\.1:6379"\)/],
  [{ target: undefined }, OptionTypeError, /^target must be an Address/],
  // These two threw once the governor was running.
  [{ acceptProxyFrom: 'not-a-cidr' }, RangeError, /^acceptProxyFrom: /],
  [{ toxics: [{ name: 'd', type: 'drop', stream: 'upstream', toxicity: 1, attributes: {} }] }, ToxicSpecError, /drop needs message mode/],
  // Not a Server: fails after the governor started, which must be stopped again.
  [{ listener: {} }, TypeError, /on is not a function/],
];

describe('RelayServer: options are checked when it is made, and a refusal leaves nothing running', () => {
  let clock: sinon.SinonFakeTimers | null = null;

  afterEach(() => {
    clock?.restore();
    clock = null;
  });

  for (const [options, error, message] of refusals) {
    it(`${JSON.stringify(options, (_k, v: unknown) => (Number.isNaN(v) ? 'NaN' : v))}: ${error.name}, no timer, no loop monitor held`, async () => {
      clock = sinon.useFakeTimers();
      const readersBefore = sharedLoopDelayReaders();
      expect(() => new RelayServer({ listen, target, ...options } as RelayServerOptions)).to.throw(error, message);
      expect(clock.countTimers()).to.equal(0);
      expect(sharedLoopDelayReaders()).to.equal(readersBefore);
      // The governor's sampler used to run on, against a server never made, and crash the process.
      await clock.tickAsync(1_000);
    });
  }

  it('a server that was made holds one loop-monitor reader until shutdown', async () => {
    const readersBefore = sharedLoopDelayReaders();
    const server = new RelayServer({ listen, target, memoryBudgetBytes: 64 * 1024, shedAt: 1, connectTimeoutMs: 1, queueTimeoutMs: 1 });
    expect(sharedLoopDelayReaders()).to.equal(readersBefore + 1);
    await server.shutdown(0);
    expect(sharedLoopDelayReaders()).to.equal(readersBefore);
  });
});
