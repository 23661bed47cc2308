import { expect } from 'chai';
import { Toxiproxy, ToxiproxyError, type ToxicType } from 'toxiproxy-node-client';
import type { ControlApi } from '../../../proxy/serve/api-server.js';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { startTestApi } from '../../helpers/control-api.js';
import { connectTo, echoServer, listen, readAll, Resources, writeAll, portOf } from '../../helpers/sockets.js';

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

// The client's Type union predates noop.
const NOOP = 'noop' as ToxicType;

/**
 * `sluice serve`'s control API and fleet driven by the real toxiproxy-node-client (npm, pinned),
 * unchanged: what a toxiproxy user's test suite does, with data through the proxies it makes.
 */
describe('control API and fleet through toxiproxy-node-client 4.1.0', () => {
  const res = new Resources();
  let fleet: Fleet;
  let api: ControlApi;
  let toxiproxy: Toxiproxy;
  let upstream: string;

  beforeEach(async () => {
    fleet = new Fleet({ drainTimeoutMs: 5000 });
    const started = await startTestApi(fleet);
    api = started.api;
    toxiproxy = new Toxiproxy(started.url);
    upstream = `127.0.0.1:${await listen(echoServer(res))}`;
  });
  afterEach(async () => {
    await api.close();
    await fleet.shutdown(0);
    await res.closeAll();
  });

  /** Sends `size` random bytes through the proxy at `listen` and checks they come back whole. */
  async function echoThrough(listen: string, size: number, seed: number): Promise<void> {
    const data = randomBytes(size, seed);
    const client = res.socket(await connectTo(portOf(listen)));
    const got = readAll(client);
    await writeAll(client, [data]);
    expect(await got).to.deep.equal({ bytes: size, sha256: sha256(data) });
  }

  async function refused(listen: string): Promise<void> {
    const err = await connectTo(portOf(listen)).then(
      (s) => (res.socket(s), null),
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).to.equal('ECONNREFUSED');
  }

  it('getVersion: the body as toxiproxy writes it', async () => {
    expect(await toxiproxy.getVersion()).to.equal('{"version": "2.12.0"}\n');
  });

  it('createProxy: listens on the real port where port 0 was asked, and relays', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: 'localhost:0', upstream });
    expect(proxy.name).to.equal('redis');
    expect(proxy.listen).to.match(/^127\.0\.0\.1:\d+$/);
    expect(portOf(proxy.listen)).to.be.greaterThan(0);
    expect(proxy.upstream).to.equal(upstream);
    expect(proxy.enabled).to.equal(true);
    await echoThrough(proxy.listen, 200_000, 1);
  });

  it('createProxy with a Testcontainers name (HOST:PORT, as ToxiproxyContainer.getProxy makes it): get, relay, remove', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'rabbitmq:5672', listen: '127.0.0.1:0', upstream });
    expect((await toxiproxy.get('rabbitmq:5672')).listen).to.equal(proxy.listen);
    await echoThrough(proxy.listen, 10_000, 3);
    await proxy.remove();
    expect(await toxiproxy.getAll()).to.deep.equal({});
  });

  it('createProxy of an existing name rejects with a ToxiproxyError (409)', async () => {
    await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const err = await rejection(toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream }));
    expect(err.message).to.equal('Request failed with status code 409');
  });

  it('populate: every proxy by name; the same config again keeps them (same ports); an empty list works', async () => {
    const config = [
      { name: 'one', listen: '127.0.0.1:0', upstream },
      { name: 'two', listen: '127.0.0.1:0', upstream, enabled: false },
    ];
    const proxies = await toxiproxy.populate(config);
    expect(Object.keys(proxies)).to.deep.equal(['one', 'two']);
    expect(proxies.two!.enabled).to.equal(false);
    await echoThrough(proxies.one!.listen, 10_000, 2);
    const again = await toxiproxy.populate(config);
    expect(again.one!.listen).to.equal(proxies.one!.listen);
    expect(fleet.list().length).to.equal(2);
    expect(await toxiproxy.populate([])).to.deep.equal({});
  });

  it('populate with a nameless entry rejects and makes nothing', async () => {
    const err = await rejection(toxiproxy.populate([{ name: 'one', listen: '127.0.0.1:0', upstream }, { listen: '127.0.0.1:0', upstream } as never]));
    expect(err.message).to.equal('Request failed with status code 400');
    expect(await toxiproxy.getAll()).to.deep.equal({});
  });

  it('get and getAll', async () => {
    const redis = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    await toxiproxy.createProxy({ name: 'pg', listen: '127.0.0.1:0', upstream });
    expect((await toxiproxy.get('redis')).toJson()).to.deep.equal({ name: 'redis', listen: redis.listen, upstream, enabled: true });
    const all = await toxiproxy.getAll();
    expect(Object.keys(all)).to.deep.equal(['pg', 'redis']);
    expect(all.pg!.upstream).to.equal(upstream);
    expect((await rejection(toxiproxy.get('nope'))).message).to.equal('Request failed with status code 404');
  });

  it('update: disable closes the listener, enable brings it back on the same port, a new upstream is used', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const down = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect(down.enabled).to.equal(false);
    await refused(proxy.listen);
    const up = await down.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
    expect(up.toJson()).to.deep.equal({ name: 'redis', listen: proxy.listen, upstream, enabled: true });
    await echoThrough(up.listen, 10_000, 3);

    const other = `127.0.0.1:${await listen(echoServer(res))}`;
    const moved = await up.update({ enabled: true, listen: up.listen, upstream: other });
    expect(moved.upstream).to.equal(other);
    await echoThrough(moved.listen, 10_000, 4);
  });

  it('remove: the listener goes, and a second remove is 404', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    await proxy.remove();
    expect(await toxiproxy.getAll()).to.deep.equal({});
    await refused(proxy.listen);
    expect((await rejection(proxy.remove())).message).to.equal('Request failed with status code 404');
  });

  it('toxics: add, get, update, remove (noop; every type in toxiproxy-client-toxics.test.ts)', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const toxic = await proxy.addToxic({ name: 'nothing', type: NOOP, stream: 'upstream', toxicity: 1, attributes: {} });
    expect(toxic.toJson()).to.deep.equal({ attributes: {}, name: 'nothing', stream: 'upstream', toxicity: 1, type: 'noop' });
    expect(toxic.getPath()).to.match(/\/proxies\/redis\/toxics\/nothing$/);

    const fetched = await proxy.getToxic('nothing');
    expect(fetched.stream).to.equal('upstream');

    const updated = await fetched.update({ ...fetched.toJson(), toxicity: 0.5 });
    expect(updated.toxicity).to.equal(0.5);
    expect(fleet.toxic('redis', 'nothing').toxicity).to.equal(0.5);

    const unknown = await rejection(proxy.addToxic({ name: 'x', type: 'walrus' as ToxicType, stream: 'downstream', toxicity: 1, attributes: {} }));
    expect(unknown.message).to.equal('Request failed with status code 400');

    await updated.remove();
    expect(fleet.toxics('redis')).to.deep.equal([]);
    expect((await rejection(proxy.getToxic('nothing'))).message).to.equal('Request failed with status code 404');
    await echoThrough(proxy.listen, 10_000, 5);
  });

  it('reset: every proxy enabled again (listening), every toxic gone', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    await proxy.addToxic({ name: 'nothing', type: NOOP, stream: 'downstream', toxicity: 1, attributes: {} });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await refused(proxy.listen);
    await toxiproxy.reset();
    const after = await toxiproxy.get('redis');
    expect(after.enabled).to.equal(true);
    expect(fleet.toxics('redis')).to.deep.equal([]);
    await echoThrough(after.listen, 10_000, 6);
  });
});
