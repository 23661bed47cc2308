import { expect } from 'chai';
import { formatDuration, formatSize, parseDuration, parseSize, parseAddress, formatAddress } from '../../../proxy/index.js';

describe('sizes, durations and addresses', () => {
  const sizes: [string, number][] = [
    ['0', 0],
    ['65536', 65536],
    ['64KiB', 65536],
    ['64k', 65536],
    ['1MiB', 1048576],
    ['1.5MiB', 1572864],
    ['1GiB', 1073741824],
    ['4294967295', 0xffffffff],
    ['10MB', 10_000_000],
  ];
  for (const [text, bytes] of sizes) it(`size "${text}" is ${bytes} bytes`, () => expect(parseSize(text)).to.equal(bytes));
  for (const bad of ['', 'abc', '12XB', '-1', '1 2']) {
    it(`size "${bad}" is rejected with the value in the message`, () => expect(() => parseSize(bad)).to.throw(RangeError, `got "${bad}"`));
  }

  const durations: [string, number][] = [
    ['0', 0],
    ['250ms', 250],
    ['5s', 5000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['100', 100],
  ];
  for (const [text, ms] of durations) it(`duration "${text}" is ${ms} ms`, () => expect(parseDuration(text)).to.equal(ms));
  for (const bad of ['', '5x', 's', '-5s']) {
    it(`duration "${bad}" is rejected`, () => expect(() => parseDuration(bad)).to.throw(RangeError, 'expected a duration'));
  }
  it('rejects a duration setTimeout cannot hold', () => expect(() => parseDuration('25d')).to.throw(RangeError));
  it('rejects a duration that would round to 0 (off) without being 0; 0.5ms is 1 ms', () => {
    expect(() => parseDuration('0.4ms')).to.throw(RangeError, 'shorter than 1 ms');
    expect([parseDuration('0.5ms'), parseDuration('0'), parseDuration('0s')]).to.deep.equal([1, 0, 0]);
  });

  // --help shows defaults through these, so they must read as a person would write them.
  const readableSizes: [number, string][] = [
    [0, '0'],
    [1000, '1000'],
    [256 * 1024, '256KiB'],
    [1024 ** 2, '1MiB'],
    [8 * 1024 ** 2, '8MiB'],
    [256 * 1024 ** 2, '256MiB'],
    [1024 ** 3, '1GiB'],
    [1536 * 1024, '1536KiB'],
  ];
  for (const [n, text] of readableSizes) it(`formatSize(${n}) is "${text}"`, () => expect(formatSize(n)).to.equal(text));
  const readableDurations: [number, string][] = [
    [0, '0ms'],
    [500, '500ms'],
    [1500, '1500ms'],
    [2000, '2s'],
    [5000, '5s'],
    [30_000, '30s'],
    [300_000, '5m'],
    [90_000, '90s'],
    [3_600_000, '1h'],
    [5_400_000, '90m'],
  ];
  for (const [ms, text] of readableDurations) it(`formatDuration(${ms}) is "${text}"`, () => expect(formatDuration(ms)).to.equal(text));
  for (const n of [0, 100, 65536, 1048576, 3 * 1024 ** 3]) it(`formatSize(${n}) parses back`, () => expect(parseSize(formatSize(n))).to.equal(n));
  for (const n of [0, 250, 5000, 60_000, 3_600_000, 1500]) it(`formatDuration(${n}) parses back`, () => expect(parseDuration(formatDuration(n))).to.equal(n));

  const addresses: [string, object][] = [
    ['127.0.0.1:7000', { kind: 'tcp', host: '127.0.0.1', port: 7000 }],
    ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
    ['[::1]:7000', { kind: 'tcp', host: '::1', port: 7000 }],
    ['unix:/run/db.sock', { kind: 'unix', path: '/run/db.sock' }],
    ['127.0.0.1:65535', { kind: 'tcp', host: '127.0.0.1', port: 65535 }],
  ];
  for (const [text, want] of addresses) {
    it(`address "${text}" parses and formats back`, () => {
      const a = parseAddress(text);
      expect(a).to.deep.equal(want);
      expect(formatAddress(a)).to.equal(text);
    });
  }
  for (const bad of ['127.0.0.1', ':80', '127.0.0.1:65536', '[1.2.3.4]:80', '::1:80', 'unix:', 'host:port']) {
    it(`address "${bad}" is rejected`, () => expect(() => parseAddress(bad)).to.throw(RangeError));
  }
});
