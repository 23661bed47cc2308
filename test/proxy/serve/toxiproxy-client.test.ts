import { expect } from 'chai';
import { Toxiproxy, ToxiproxyError, type Latency } from 'toxiproxy-node-client';
import type { ControlApi } from '../../../proxy/serve/api-server.js';
import { startTestApi } from '../../helpers/control-api.js';
import { FakeControlTarget } from '../../helpers/fake-control-target.js';

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).to.be.instanceOf(ToxiproxyError);
  return outcome.error as Error;
}

/**
 * The control API driven by the real toxiproxy-node-client (npm, pinned), unchanged: what a
 * toxiproxy user's test suite does against sluice. The fleet here is the in-memory fake, so
 * these check the HTTP layer and the client's expectations of it, not the relaying.
 */
describe('control API through toxiproxy-node-client 4.1.0', () => {
  let fleet: FakeControlTarget;
  let api: ControlApi;
  let toxiproxy: Toxiproxy;

  beforeEach(async () => {
    fleet = new FakeControlTarget();
    const started = await startTestApi(fleet);
    api = started.api;
    toxiproxy = new Toxiproxy(started.url);
  });
  afterEach(() => api.close());

  it('getVersion: the body as toxiproxy writes it', async () => {
    expect(await toxiproxy.getVersion()).to.equal('{"version": "2.12.0"}\n');
  });

  it('createProxy: the proxy, with the real port where port 0 was asked', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: 'localhost:0', upstream: '127.0.0.1:6379' });
    expect(proxy.toJson()).to.deep.equal({ name: 'redis', listen: '127.0.0.1:20000', upstream: '127.0.0.1:6379', enabled: true });
  });

  it('createProxy of an existing name rejects with a ToxiproxyError (409)', async () => {
    await toxiproxy.createProxy({ name: 'redis', listen: 'localhost:0', upstream: '127.0.0.1:6379' });
    const err = await rejection(toxiproxy.createProxy({ name: 'redis', listen: 'localhost:0', upstream: '127.0.0.1:6379' }));
    expect(err.message).to.equal('Request failed with status code 409');
  });

  it('populate: every proxy by name; again with the same config keeps them; an empty list works', async () => {
    const config = [
      { name: 'one', listen: 'localhost:0', upstream: '127.0.0.1:6379' },
      { name: 'two', listen: '127.0.0.1:7002', upstream: '127.0.0.1:5432', enabled: false },
    ];
    const proxies = await toxiproxy.populate(config);
    expect(Object.keys(proxies)).to.deep.equal(['one', 'two']);
    expect(proxies.one!.listen).to.equal('127.0.0.1:20000');
    expect(proxies.two!.enabled).to.equal(false);
    const again = await toxiproxy.populate([{ ...config[0]!, listen: '127.0.0.1:20000' }, config[1]!]);
    expect(again.one!.listen).to.equal('127.0.0.1:20000');
    expect(fleet.list().length).to.equal(2);
    expect(await toxiproxy.populate([])).to.deep.equal({});
  });

  it('populate with a nameless entry rejects and makes nothing', async () => {
    const err = await rejection(
      toxiproxy.populate([{ name: 'one', listen: 'localhost:0', upstream: 'x:1' }, { listen: 'localhost:0', upstream: 'x:2' } as never]),
    );
    expect(err.message).to.equal('Request failed with status code 400');
    expect(await toxiproxy.getAll()).to.deep.equal({});
  });

  it('get and getAll', async () => {
    await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6379' });
    await toxiproxy.createProxy({ name: 'pg', listen: '127.0.0.1:7001', upstream: '127.0.0.1:5432' });
    expect((await toxiproxy.get('redis')).toJson()).to.deep.equal({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6379', enabled: true });
    const all = await toxiproxy.getAll();
    expect(Object.keys(all)).to.deep.equal(['pg', 'redis']);
    expect(all.pg!.upstream).to.equal('127.0.0.1:5432');
    expect((await rejection(toxiproxy.get('nope'))).message).to.equal('Request failed with status code 404');
  });

  it('update: disable, enable, change the upstream', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6379' });
    const down = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect(down.enabled).to.equal(false);
    expect(fleet.get('redis').enabled).to.equal(false);
    const up = await down.update({ enabled: true, listen: proxy.listen, upstream: '127.0.0.1:6380' });
    expect(up.toJson()).to.deep.equal({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6380', enabled: true });
  });

  it('remove', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6379' });
    await proxy.remove();
    expect(await toxiproxy.getAll()).to.deep.equal({});
    expect((await rejection(proxy.remove())).message).to.equal('Request failed with status code 404');
  });

  it('toxics: add, get, update, remove', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6379' });
    const toxic = await proxy.addToxic<Latency>({ name: 'lag', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 100, jitter: 5 } });
    expect(toxic.toJson()).to.deep.equal({ attributes: { latency: 100, jitter: 5 }, name: 'lag', stream: 'downstream', toxicity: 1, type: 'latency' });
    expect(toxic.getPath()).to.match(/\/proxies\/redis\/toxics\/lag$/);

    const fetched = await proxy.getToxic<Latency>('lag');
    expect(fetched.attributes).to.deep.equal({ latency: 100, jitter: 5 });

    const updated = await fetched.update({ ...fetched.toJson(), toxicity: 0.5, attributes: { latency: 300, jitter: 0 } });
    expect(updated.toxicity).to.equal(0.5);
    expect(updated.attributes.latency).to.equal(300);
    expect(fleet.toxic('redis', 'lag').attributes).to.deep.equal({ latency: 300, jitter: 0 });

    await updated.remove();
    expect(fleet.toxics('redis')).to.deep.equal([]);
    expect((await rejection(proxy.getToxic('lag'))).message).to.equal('Request failed with status code 404');
  });

  it('reset: every proxy enabled again, every toxic gone', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:7000', upstream: '127.0.0.1:6379' });
    await proxy.addToxic({ name: 'lag', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 100, jitter: 0 } });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await toxiproxy.reset();
    const after = await toxiproxy.get('redis');
    expect(after.enabled).to.equal(true);
    expect(fleet.toxics('redis')).to.deep.equal([]);
  });
});
