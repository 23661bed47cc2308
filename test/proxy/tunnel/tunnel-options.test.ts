import { expect } from 'chai';
import sinon from 'sinon';
import { TunnelClient, TunnelServer, TunnelSession, type Address, type TunnelClientOptions, type TunnelServerOptions, type TunnelSessionOptions } from '../../../proxy/index.js';
import { OptionRangeError, OptionTypeError } from '../../../proxy/relay/option-checks.js';
import { duplexPair } from '../../helpers/duplex-pair.js';

const listen: Address = { kind: 'tcp', host: '127.0.0.1', port: 0 };
const far: Address = { kind: 'tcp', host: '127.0.0.1', port: 1 };

type Refusal = [options: Record<string, unknown>, error: typeof OptionTypeError | typeof OptionRangeError | typeof RangeError, message: string | RegExp];

// What both sidecars share. Each used to be taken and then fail every link (the session is made
// per link, its error naming initialWindowBytes), or to be taken without a word.
const sidecarRefusals: Refusal[] = [
  [{ windowBytes: 1000 }, OptionRangeError, 'windowBytes must be a whole number from 262144 to 4294967295, got 1000'],
  [{ windowBytes: '1MiB' }, OptionTypeError, 'windowBytes must be a whole number from 262144 to 4294967295, got "1MiB"'],
  [{ windowBytes: 32 * 1024 * 1024 }, OptionRangeError, 'windowBytes must be at most maxWindowBytes (16777216), got 33554432'],
  [{ maxWindowBytes: 1000 }, OptionRangeError, 'maxWindowBytes must be a whole number in 262144..4294967295, got 1000'],
  [{ maxStreams: 0 }, OptionRangeError, 'maxStreams must be a whole number in 1..4294967295, got 0'],
  [{ maxStreams: '5' }, OptionTypeError, 'maxStreams must be a whole number in 1..4294967295, got "5"'],
  [{ autoTune: 'no' }, OptionTypeError, 'autoTune must be a boolean, got "no"'],
  [{ acceptBacklog: 0 }, OptionRangeError, 'acceptBacklog must be a whole number in 1..4294967295, got 0'],
  [{ resetsPerSecond: -1 }, OptionRangeError, 'resetsPerSecond must be a whole number in 0..4294967295, got -1'],
  [{ keepaliveIntervalMs: -1 }, OptionRangeError, 'keepaliveIntervalMs must be a whole number from 0 to 2147483647, got -1'],
  [{ errorLingerMs: NaN }, OptionRangeError, 'errorLingerMs must be a whole number from 0 to 2147483647, got NaN'],
  [{ windowBudgetBytes: 0 }, OptionRangeError, 'windowBudgetBytes must be a whole number >= 1, got 0'],
  [{ maxConns: -1 }, OptionRangeError, 'maxConns must be a whole number >= 0, got -1'],
  [{ maxQueue: -1 }, OptionRangeError, 'maxQueue must be a whole number >= 0, got -1'],
  [{ idleTimeoutMs: '1h' }, OptionTypeError, 'idleTimeoutMs must be a whole number from 0 to 2147483647, got "1h"'],
  [{ connectTimeoutMs: 0 }, OptionRangeError, 'connectTimeoutMs must be a whole number from 1 to 2147483647, got 0'],
  [{ listen: '127.0.0.1:0' }, OptionTypeError, /^listen must be an Address .*use parseAddress\("127\.0\.0\.1:0"\)/],
];

const serverRefusals: Refusal[] = [
  ...sidecarRefusals,
  [{ target: '127.0.0.1:6379' }, OptionTypeError, /^target must be an Address .*use parseAddress/],
  [{ handshakeTimeoutMs: -1 }, OptionRangeError, 'handshakeTimeoutMs must be a whole number from 0 to 2147483647, got -1'],
];

const clientRefusals: Refusal[] = [
  ...sidecarRefusals,
  [{ server: '127.0.0.1:7100' }, OptionTypeError, /^server must be an Address .*use parseAddress/],
  [{ links: 0 }, OptionRangeError, 'links must be a whole number >= 1, got 0'],
  [{ linkWaitMs: -1 }, OptionRangeError, 'linkWaitMs must be a whole number from 0 to 2147483647, got -1'],
  [{ backoff: { initialMs: -1 } }, RangeError, /^backoff\.initialMs must be a number in 0\.\./],
];

const sessionRefusals: Refusal[] = [
  // 'Read' used to be taken: no stream ever gave credit back, and each stalled for good after its window.
  [{ credit: 'Read' }, OptionRangeError, `credit must be one of 'read', 'manual', got "Read"`],
  [{ autoAccept: 'yes' }, OptionTypeError, 'autoAccept must be true or false, got "yes"'],
  [{ keepaliveIntervalMs: '30s' }, OptionTypeError, 'keepaliveIntervalMs must be a whole number from 0 to 2147483647, got "30s"'],
  [{ handshakeTimeoutMs: -1 }, OptionRangeError, 'handshakeTimeoutMs must be a whole number from 0 to 2147483647, got -1'],
  [{ role: 'server' }, OptionRangeError, `role must be one of 'dialer', 'acceptor', got "server"`],
];

const title = (options: Record<string, unknown>) => JSON.stringify(options, (_k, v: unknown) => (Number.isNaN(v) ? 'NaN' : v));

describe('tunnel sidecars and sessions: options are checked when they are made', () => {
  let clock: sinon.SinonFakeTimers | null = null;

  afterEach(() => {
    clock?.restore();
    clock = null;
  });

  for (const [options, error, message] of serverRefusals) {
    it(`TunnelServer ${title(options)}: ${error.name}, nothing left running`, () => {
      clock = sinon.useFakeTimers();
      expect(() => new TunnelServer({ listen, target: far, ...options } as TunnelServerOptions)).to.throw(error, message);
      expect(clock.countTimers()).to.equal(0);
    });
  }

  for (const [options, error, message] of clientRefusals) {
    it(`TunnelClient ${title(options)}: ${error.name}, nothing left running`, () => {
      clock = sinon.useFakeTimers();
      expect(() => new TunnelClient({ listen, server: far, ...options } as TunnelClientOptions)).to.throw(error, message);
      expect(clock.countTimers()).to.equal(0);
    });
  }

  it('the sidecars take a window up to a raised maxWindowBytes', async () => {
    const server = new TunnelServer({ listen, target: far, maxWindowBytes: 64 * 1024 * 1024, windowBytes: 32 * 1024 * 1024 });
    await server.shutdown(0);
  });

  for (const [options, error, message] of sessionRefusals) {
    it(`TunnelSession ${title(options)}: ${error.name}, the link untouched`, () => {
      clock = sinon.useFakeTimers();
      const [link, peer] = duplexPair();
      expect(() => new TunnelSession(link, { role: 'dialer', ...options } as TunnelSessionOptions)).to.throw(error, message);
      expect(clock.countTimers()).to.equal(0);
      expect(link.listenerCount('data')).to.equal(0);
      link.destroy();
      peer.destroy();
    });
  }
});
