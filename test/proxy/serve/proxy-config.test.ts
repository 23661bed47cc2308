import { expect } from 'chai';
import { parseConfig } from '../../../proxy/serve/config-file.js';
import { effectiveSettings, parseProxySpec, ProxyConfigError } from '../../../proxy/serve/proxy-config.js';

describe('sluice serve: a proxy entry (config file and API body)', () => {
  it('takes toxiproxy\'s fields and relay settings under their flag names, parsed like the flags', () => {
    const spec = parseProxySpec({ name: 'redis', listen: 'localhost:0', upstream: '127.0.0.1:6379', window: '64KiB', 'max-conns': 100, overflow: 'spill', messages: 'lines', 'accept-proxy': true }, '#1');
    expect(spec).to.deep.include({ name: 'redis', listen: 'localhost:0', upstream: '127.0.0.1:6379', enabled: true });
    expect(spec.options).to.deep.include({ windowBytes: 64 * 1024, maxConns: 100, overflow: 'spill', messages: 'lines', acceptProxy: true });
    expect(spec.options.target).to.deep.equal({ kind: 'tcp', host: '127.0.0.1', port: 6379 });
    const settings = effectiveSettings(spec);
    expect(settings).to.include({ window: '64KiB', 'max-conns': 100, 'idle-timeout': '1h', 'accept-proxy': true });
  });

  it('defaults: enabled, listen 127.0.0.1:0, no toxics; an update keeps what it does not name', () => {
    const spec = parseProxySpec({ name: 'a', upstream: '127.0.0.1:1' }, '#1');
    expect([spec.enabled, spec.listen, spec.toxics]).to.deep.equal([true, '127.0.0.1:0', []]);
    const updated = parseProxySpec({ window: '1MiB' }, 'a', { ...spec, settings: { 'max-conns': 3 } });
    expect(updated.options).to.deep.include({ windowBytes: 1024 * 1024, maxConns: 3 });
    expect(updated.upstream).to.equal('127.0.0.1:1');
  });

  it('takes back the object GET shows: `settings` nested as GET writes it (a key at the top level wins); a Testcontainers name (HOST:PORT)', () => {
    const shown = effectiveSettings(parseProxySpec({ name: 'rabbitmq:5672', upstream: '127.0.0.1:5672', window: '64KiB' }, '#1'));
    const back = parseProxySpec({ name: 'rabbitmq:5672', listen: '127.0.0.1:0', upstream: '127.0.0.1:5672', enabled: true, toxics: [], settings: shown, 'max-conns': 7 }, '#1');
    expect(back.name).to.equal('rabbitmq:5672');
    expect(back.options).to.deep.include({ windowBytes: 64 * 1024, maxConns: 7 });
    expect(() => parseProxySpec({ name: 'a', upstream: '127.0.0.1:1', settings: [] }, '#1')).to.throw(ProxyConfigError, 'proxy a: settings: must be an object');
    expect(() => parseProxySpec({ name: 'a', upstream: '127.0.0.1:1', settings: { wnidow: 1 } }, '#1')).to.throw(ProxyConfigError, 'proxy a: wnidow: not a setting');
  });

  for (const [entry, message] of [
    [{ upstream: '127.0.0.1:1' }, 'proxy #1: name: missing'],
    [{ name: 'a' }, 'proxy a: upstream: missing'],
    [{ name: 'a b', upstream: '127.0.0.1:1' }, 'proxy a b: name: letters, digits'],
    [{ name: 'a/b', upstream: '127.0.0.1:1' }, 'proxy a/b: name: letters, digits'],
    [{ name: 'a', upstream: 'nowhere' }, 'proxy a: upstream: expected HOST:PORT'],
    [{ name: 'a', upstream: '127.0.0.1:1', window: '12 apples' }, 'proxy a: window: '],
    [{ name: 'a', upstream: '127.0.0.1:1', 'max-conns': -1 }, 'proxy a: max-conns: expected a whole number'],
    [{ name: 'a', upstream: '127.0.0.1:1', wnidow: '64KiB' }, 'proxy a: wnidow: not a setting of a proxy'],
    [{ name: 'a', upstream: '127.0.0.1:1', workers: 2 }, 'proxy a: workers: not a setting of a proxy'],
    [{ name: 'a', upstream: '127.0.0.1:1', overflow: 'drop-newest' }, 'proxy a: overflow: drop-newest needs --messages'],
    [{ name: 'a', upstream: '127.0.0.1:1', enabled: 'yes' }, 'proxy a: enabled: must be true or false'],
    [{ name: 'a', upstream: '127.0.0.1:1', 'accept-proxy': 'yes' }, 'proxy a: accept-proxy: must be true or false'],
    [{ name: 'a', upstream: '127.0.0.1:1', toxics: [{ type: 'latency', stream: 'sideways' }] }, 'proxy a: toxics[0]: stream was invalid'],
    [{ name: 'a', upstream: '127.0.0.1:1', toxics: [{ type: 'no-such-toxic' }] }, 'proxy a: toxics[0]: invalid toxic type'],
  ] as const) {
    it(`"${JSON.stringify(entry)}" -> ${message}...`, () => {
      expect(() => parseProxySpec(entry as Record<string, unknown>, '#1')).to.throw(ProxyConfigError).with.property('message').that.satisfies((m: string) => m.startsWith(message));
    });
  }

  it('a file: {"proxies": [...]} or toxiproxy\'s bare array; names unique', () => {
    const both = [{ name: 'a', listen: '127.0.0.1:0', upstream: '127.0.0.1:1', enabled: true }];
    expect(parseConfig({ proxies: both }).map((s) => s.name)).to.deep.equal(['a']);
    expect(parseConfig(both).map((s) => s.name)).to.deep.equal(['a']);
    expect(() => parseConfig([...both, ...both])).to.throw(ProxyConfigError, 'proxy a: name: named twice');
    expect(() => parseConfig({ proxy: both })).to.throw(/expected \{"proxies": \[\.\.\.\]\}/);
  });
});
