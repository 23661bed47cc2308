import { expect } from 'chai';
import { Toxiproxy, ToxiproxyError, type Proxy, type ToxicType } from 'toxiproxy-node-client';
import type { ControlApi } from '../../../proxy/serve/api-server.js';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { randomBytes } from '../../../scenarios/harness/random.js';
import { call, json, startTestApi } from '../../helpers/control-api.js';
import { createServer } from 'node:net';
import { collectText, connectTo, echoServer, listen, Resources, until, portOf, flood } from '../../helpers/sockets.js';
import { turns } from '../../helpers/toxics.js';

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
 * Each of toxiproxy's toxic types: what the client sends, what toxiproxy answers (every attribute,
 * defaults filled, as its Go structs serialise), an update and what that answers.
 */
const CASES: { type: string; given: Record<string, number>; answered: Record<string, number>; update: Record<string, number>; updated: Record<string, number> }[] = [
  { type: 'latency', given: { latency: 100 }, answered: { latency: 100, jitter: 0 }, update: { jitter: 10 }, updated: { latency: 100, jitter: 10 } },
  { type: 'bandwidth', given: { rate: 50 }, answered: { rate: 50 }, update: { rate: 0 }, updated: { rate: 0 } },
  { type: 'slow_close', given: {}, answered: { delay: 0 }, update: { delay: 250 }, updated: { delay: 250 } },
  { type: 'timeout', given: { timeout: 5000 }, answered: { timeout: 5000 }, update: { timeout: 0 }, updated: { timeout: 0 } },
  { type: 'reset_peer', given: { timeout: 10 }, answered: { timeout: 10 }, update: { timeout: 20 }, updated: { timeout: 20 } },
  { type: 'slicer', given: { average_size: 64, delay: 10 }, answered: { average_size: 64, size_variation: 0, delay: 10 }, update: { size_variation: 32 }, updated: { average_size: 64, size_variation: 32, delay: 10 } },
  { type: 'limit_data', given: { bytes: 1000 }, answered: { bytes: 1000 }, update: { bytes: 2000 }, updated: { bytes: 2000 } },
  { type: 'noop', given: {}, answered: {}, update: {}, updated: {} },
];

/** Every toxiproxy toxic type through the real toxiproxy-node-client (npm, pinned), unchanged. */
describe('toxics through toxiproxy-node-client 4.1.0', () => {
  const res = new Resources();
  let fleet: Fleet;
  let api: ControlApi;
  let apiPort: number;
  let toxiproxy: Toxiproxy;
  let upstream: string;
  let proxy: Proxy;

  beforeEach(async () => {
    fleet = new Fleet({ drainTimeoutMs: 5000 });
    const started = await startTestApi(fleet);
    api = started.api;
    apiPort = started.port;
    toxiproxy = new Toxiproxy(started.url);
    upstream = `127.0.0.1:${await listen(echoServer(res))}`;
    proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
  });
  afterEach(async () => {
    await api.close();
    await fleet.shutdown(0);
    await res.closeAll();
  });

  for (const c of CASES) {
    it(`${c.type}: addToxic, getToxic, update and remove answer as toxiproxy does`, async () => {
      const added = await proxy.addToxic({ name: `t_${c.type}`, type: c.type as ToxicType, stream: 'upstream', toxicity: 1, attributes: c.given as never });
      const shape = { name: `t_${c.type}`, type: c.type, stream: 'upstream', toxicity: 1, attributes: c.answered };
      expect(added.toJson()).to.deep.equal(shape);
      expect((await proxy.getToxic(`t_${c.type}`)).toJson()).to.deep.equal(shape);

      const updated = await added.update({ ...added.toJson(), toxicity: 0.5, attributes: c.update as never });
      expect(updated.toJson()).to.deep.equal({ ...shape, toxicity: 0.5, attributes: c.updated });
      expect(fleet.toxic('redis', `t_${c.type}`)).to.deep.equal({ ...shape, toxicity: 0.5, attributes: c.updated });

      await updated.remove();
      expect((await rejection(proxy.getToxic(`t_${c.type}`))).message).to.equal('Request failed with status code 404');
      expect((await rejection(updated.remove())).message).to.equal('Request failed with status code 404');
    });
  }

  it('defaults as toxiproxy fills them: stream downstream, toxicity 1, name <type>_<stream>', async () => {
    const reply = await call(apiPort, 'POST', '/proxies/redis/toxics', json({ type: 'latency' }));
    expect([reply.status, reply.json]).to.deep.equal([200, { name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 0, jitter: 0 } }]);
  });

  it('lists toxics as toxiproxy does: the upstream chain first, each in the order added (in the proxy too)', async () => {
    const add = (name: string, stream: 'upstream' | 'downstream') => proxy.addToxic({ name, type: 'latency', stream, toxicity: 1, attributes: { latency: 1, jitter: 0 } });
    await add('d1', 'downstream');
    await add('u1', 'upstream');
    await add('d2', 'downstream');
    await add('u2', 'upstream');
    const listed = await call(apiPort, 'GET', '/proxies/redis/toxics');
    expect((listed.json as { name: string }[]).map((t) => t.name)).to.deep.equal(['u1', 'u2', 'd1', 'd2']);
    const shown = await call(apiPort, 'GET', '/proxies/redis');
    expect((shown.json as { toxics: { name: string }[] }).toxics.map((t) => t.name)).to.deep.equal(['u1', 'u2', 'd1', 'd2']);
  });

  it('a bad attribute is a 400 naming it; a bad stream or type is toxiproxy\'s 400; a second of the same name is a 409', async () => {
    const bad = await rejection(proxy.addToxic({ name: 'x', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: -1, jitter: 0 } }));
    expect(bad.message).to.equal('Request failed with status code 400');
    const reply = await call(apiPort, 'POST', '/proxies/redis/toxics', json({ type: 'latency', attributes: { latency: 'soon' } }));
    expect([reply.status, reply.json]).to.deep.equal([400, { error: 'bad request body: attributes.latency must be a whole number >= 0 (milliseconds)', status: 400 }]);
    const stream = await call(apiPort, 'POST', '/proxies/redis/toxics', json({ type: 'latency', stream: 'sideways' }));
    expect([stream.status, stream.json]).to.deep.equal([400, { error: 'stream was invalid, can be either upstream or downstream', status: 400 }]);
    const type = await call(apiPort, 'POST', '/proxies/redis/toxics', json({ type: 'walrus' }));
    expect([type.status, type.json]).to.deep.equal([400, { error: 'invalid toxic type', status: 400 }]);
    await proxy.addToxic({ name: 'x', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 1, jitter: 0 } });
    expect((await rejection(proxy.addToxic({ name: 'x', type: 'timeout', stream: 'upstream', toxicity: 1, attributes: { timeout: 1 } }))).message).to.equal('Request failed with status code 409');
    const toxic = await proxy.getToxic('x');
    expect((await rejection(toxic.update({ ...toxic.toJson(), attributes: { latency: 1.5, jitter: 0 } as never }))).message).to.equal('Request failed with status code 400');
    expect(fleet.toxic('redis', 'x').attributes).to.deep.equal({ latency: 1, jitter: 0 }); // unchanged
  });

  it('limit_data added to a connection already open: exactly that many bytes come back, then FIN; removed, a new connection echoes whole', async () => {
    const client = res.socket(await connectTo(portOf(proxy.listen)));
    const got: Buffer[] = [];
    let ended = false;
    client.on('data', (d: Buffer) => got.push(d));
    client.on('end', () => (ended = true));
    client.write('ping');
    await until(() => Buffer.concat(got).toString() === 'ping', 'the echo before the toxic');
    // Counted from when it is added (toxiproxy gives a live link's new toxic a fresh state).
    const toxic = await proxy.addToxic({ name: 'cap', type: 'limit_data', stream: 'downstream', toxicity: 1, attributes: { bytes: 1000 } });
    const data = randomBytes(10_000, 3);
    client.write(data);
    await until(() => ended, 'FIN after the limit');
    expect(Buffer.concat(got).equals(Buffer.concat([Buffer.from('ping'), data.subarray(0, 1000)]))).to.equal(true);

    await toxic.remove();
    const again = res.socket(await connectTo(portOf(proxy.listen)));
    const echoed: Buffer[] = [];
    again.on('data', (d: Buffer) => echoed.push(d));
    again.write(data);
    await until(() => Buffer.concat(echoed).length === data.length, 'the whole echo');
    expect(Buffer.concat(echoed).equals(data)).to.equal(true);
  });

  describe('sluice\'s own types through the same client (a type name it does not know is passed as is)', () => {
    /** The one open connection of `name`, as /connections lists it. */
    const only = (name: string) => {
      const views = fleet.liveConnections(10).connections.filter((c) => c.proxy === name);
      expect(views).to.have.length(1);
      return views[0]!;
    };

    it('stall: the client is not read while it is on (its direction held by the toxic); removed, what waited is read and echoed', async () => {
      const client = res.socket(await connectTo(portOf(proxy.listen)));
      const got = collectText(client);
      client.write('ping;');
      await until(() => got.text() === 'ping;', 'the echo before the toxic');
      const stall = await proxy.addToxic({ name: 'stop', type: 'stall' as ToxicType, stream: 'upstream', toxicity: 1, attributes: { duration: 0 } as never });
      expect(stall.toJson()).to.deep.include({ type: 'stall', stream: 'upstream', attributes: { duration: 0 } });
      expect(only('redis').clientToTarget).to.deep.include({ held: true, holdReasons: ['toxic'], bytes: 5 });
      client.write('waiting');
      await turns(50);
      expect([got.text(), only('redis').clientToTarget!.bytes]).to.deep.equal(['ping;', 5]);
      await stall.remove();
      await until(() => got.text() === 'ping;waiting', 'read and echoed once removed');
      expect(only('redis').clientToTarget!.held).to.equal(false);
    });

    it('window: a small window while it is on (the relay holds the client once a little waits for the target), the proxy\'s own once removed', async () => {
      const stalled = res.server(createServer({ allowHalfOpen: true }, (s) => s.pause()));
      const held = await toxiproxy.createProxy({ name: 'held', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(stalled)}` });
      const small = await held.addToxic({ name: 'narrow', type: 'window' as ToxicType, stream: 'upstream', toxicity: 1, attributes: { bytes: 4096 } as never });
      expect(small.toJson()).to.deep.include({ type: 'window', attributes: { bytes: 4096 } });
      const client = res.socket(await connectTo(portOf(held.listen)));
      flood(client);
      // Once the kernel's buffers toward the target are full, bytes wait in the relay: held as soon
      // as the window toxic's 4 KiB wait, so at most that and one read (64 KiB) are buffered.
      const up = () => only('held').clientToTarget;
      await until(() => up()?.held === true && up()!.bufferedBytes >= 4096, 'the client held by the small window');
      const bound = 4096 + 64 * 1024;
      expect(up()!.bufferedBytes).to.be.below(bound);
      expect(up()!.windowBytes).to.be.above(2 * bound); // the proxy's own (256 KiB by default)
      await small.remove();
      // The proxy's own window: the relay reads on, past what the toxic allowed.
      await until(() => up()!.bufferedBytes >= 2 * bound, 'more buffered than the small window allows, once the toxic is gone');
    });

    it('drop (a proxy in message mode): every message dropped and counted while it is on; removed, messages go through', async () => {
      await fleet.create({ name: 'lines', listen: '127.0.0.1:0', upstream, messages: 'lines' });
      const lines = await toxiproxy.get('lines');
      const client = res.socket(await connectTo(portOf(lines.listen)));
      const got = collectText(client);
      client.write('first\n');
      await until(() => got.text() === 'first\n', 'the echo before the toxic');
      const drop = await lines.addToxic({ name: 'lossy', type: 'drop' as ToxicType, stream: 'upstream', toxicity: 1, attributes: { probability: 1 } as never });
      expect(drop.toJson()).to.deep.include({ type: 'drop', stream: 'upstream', attributes: { probability: 1 } });
      client.write('lost one\nlost two\n');
      await until(() => only('lines').messages?.droppedByReason.toxic === 2, 'both messages dropped, counted as the toxic\'s');
      await drop.remove();
      client.write('kept\n');
      await until(() => got.text() === 'first\nkept\n', 'a message through once removed');
      expect(only('lines').messages!.droppedByReason.toxic).to.equal(2);
      const refused = await call(apiPort, 'POST', '/proxies/redis/toxics', json({ type: 'drop', stream: 'upstream' }));
      expect(refused.status).to.equal(400); // a proxy not in message mode cannot carry it
    });
  });

  it('reset: every toxic gone from the open connections too', async () => {
    const client = res.socket(await connectTo(portOf(proxy.listen)));
    const got: Buffer[] = [];
    client.on('data', (d: Buffer) => got.push(d));
    await proxy.addToxic({ name: 'mute', type: 'timeout', stream: 'downstream', toxicity: 1, attributes: { timeout: 0 } });
    client.write('lost');
    await until(() => fleet.connections('redis').connections.some((c) => c.bytesDown === 4), 'the echo read and dropped');
    await toxiproxy.reset();
    // timeout removed closes the connection (toxiproxy's Cleanup): the client sees FIN, nothing else.
    await new Promise((resolve) => client.once('end', resolve));
    expect(Buffer.concat(got).length).to.equal(0);
    expect(fleet.toxics('redis')).to.deep.equal([]);
  });
});
