import { expect } from 'chai';
import { MAX_TIMER_MS } from '../../../windowing/timer-limit.js';
import {
  address,
  above,
  bool,
  checkOptions,
  durationMs,
  oneOf,
  OptionRangeError,
  OptionTypeError,
  whole,
  type Check,
} from '../../../proxy/relay/option-checks.js';

type Row = [title: string, check: Check, value: unknown, error: typeof OptionTypeError | typeof OptionRangeError | null, message?: string];

const rows: Row[] = [
  ['whole(1): 1 (the bound)', whole(1), 1, null],
  ['whole(1): 0 (one past it)', whole(1), 0, OptionRangeError, 'x must be a whole number >= 1, got 0'],
  ['whole(1, 10): 10 (the bound)', whole(1, 10), 10, null],
  ['whole(1, 10): 11 (one past it)', whole(1, 10), 11, OptionRangeError, 'x must be a whole number from 1 to 10, got 11'],
  ['whole(0): 1.5', whole(0), 1.5, OptionRangeError, 'x must be a whole number >= 0, got 1.5'],
  ['whole(0): NaN', whole(0), NaN, OptionRangeError, 'x must be a whole number >= 0, got NaN'],
  ['whole(0): Infinity', whole(0), Infinity, OptionRangeError, 'x must be a whole number >= 0, got Infinity'],
  ['whole(0): "64KiB"', whole(0), '64KiB', OptionTypeError, 'x must be a whole number >= 0, got "64KiB"'],
  ['whole(0): 0xffffffff', whole(0, 0xffffffff), 0xffffffff, null],
  ['durationMs(0): 0', durationMs(0), 0, null],
  ['durationMs(0): setTimeout\'s longest', durationMs(0), MAX_TIMER_MS, null],
  ['durationMs(0): one past setTimeout\'s longest', durationMs(0), MAX_TIMER_MS + 1, OptionRangeError, `x must be a whole number from 0 to ${MAX_TIMER_MS}, got ${MAX_TIMER_MS + 1}`],
  ['durationMs(1): 0', durationMs(1), 0, OptionRangeError, `x must be a whole number from 1 to ${MAX_TIMER_MS}, got 0`],
  ['durationMs(0): "5s"', durationMs(0), '5s', OptionTypeError, `x must be a whole number from 0 to ${MAX_TIMER_MS}, got "5s"`],
  ['above(0, 1): 1', above(0, 1), 1, null],
  ['above(0, 1): 0', above(0, 1), 0, OptionRangeError, 'x must be a number above 0 and at most 1, got 0'],
  ['above(0, 1): NaN', above(0, 1), NaN, OptionRangeError, 'x must be a number above 0 and at most 1, got NaN'],
  ['oneOf: a choice', oneOf(['a', 'b']), 'b', null],
  ['oneOf: another case', oneOf(['read', 'manual']), 'Read', OptionRangeError, "x must be one of 'read', 'manual', got \"Read\""],
  ['oneOf: not a string', oneOf(['a']), 1, OptionTypeError, "x must be one of 'a', got 1"],
  ['bool: a string', bool, 'true', OptionTypeError, 'x must be true or false, got "true"'],
  ['address: tcp', address, { kind: 'tcp', host: '127.0.0.1', port: 0 }, null],
  ['address: unix', address, { kind: 'unix', path: '/tmp/s' }, null],
  [
    'address: a string',
    address,
    '127.0.0.1:0',
    OptionTypeError,
    'x must be an Address ({ kind: \'tcp\', host, port } or { kind: \'unix\', path }): use parseAddress("127.0.0.1:0"), got "127.0.0.1:0"',
  ],
  ['address: port 65536', address, { kind: 'tcp', host: 'h', port: 65536 }, OptionRangeError, 'x.port must be a whole number from 0 to 65535, got 65536'],
  ['address: no kind', address, { host: 'h', port: 1 }, OptionTypeError, "x.kind must be 'tcp' or 'unix', got undefined"],
];

describe('option checks (proxy/relay/option-checks.ts)', () => {
  for (const [title, check, value, error, message] of rows) {
    it(`${title}: ${error ? error.name : 'accepted'}`, () => {
      if (!error) return void expect(() => check('x', value)).not.to.throw();
      expect(() => check('x', value))
        .to.throw(error)
        .that.satisfies((err: OptionTypeError | OptionRangeError) => {
          expect(err.message).to.equal(message);
          expect(err.message.startsWith(`${err.option} must be`)).to.equal(true);
          expect(err.code).to.equal(error === OptionTypeError ? 'ERR_INVALID_OPTION_TYPE' : 'ERR_OPTION_OUT_OF_RANGE');
          return true;
        });
    });
  }

  it('errors are TypeErrors and RangeErrors, for callers that check those', () => {
    expect(new OptionTypeError('x', 'y', 1)).to.be.instanceOf(TypeError);
    expect(new OptionRangeError('x', 'y', 1)).to.be.instanceOf(RangeError);
  });

  describe('checkOptions', () => {
    const checks = { a: whole(1), b: oneOf(['x']) };

    it('leaves absent options to their defaults', () => {
      expect(() => checkOptions<{ a?: number; b?: string }>({}, checks)).not.to.throw();
      expect(() => checkOptions<{ a?: number; b?: string }>({ a: undefined }, checks)).not.to.throw();
    });

    it('names the first bad option, with the prefix of a nested object', () => {
      expect(() => checkOptions<{ a?: number; b?: string }>({ a: 1, b: 'y' }, checks, [], 'm.')).to.throw(OptionRangeError, `m.b must be one of 'x', got "y"`);
    });

    it('fails a required option that is absent', () => {
      expect(() => checkOptions<{ a?: number; b?: string }>({ a: 1 }, checks, ['b'])).to.throw(OptionTypeError, "b must be one of 'x', got undefined");
    });

    it('refuses options that are not an object', () => {
      expect(() => checkOptions<{ a?: number; b?: string }>('a=1' as never, checks)).to.throw(OptionTypeError, 'options must be an object, got "a=1"');
    });
  });
});
