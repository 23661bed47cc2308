import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import sinon from 'sinon';
import { ConnectionToxics } from '../../../proxy/relay/connection-toxics.js';
import { Relay } from '../../../proxy/relay/relay.js';
import { parseToxicSpec, type ToxicSpec } from '../../../proxy/stages/toxics/index.js';
import { randomBytes, randomChunks, seededRandom, sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, Resources } from '../../helpers/sockets.js';
import { TOXIC_FAKES, turns } from '../../helpers/toxics.js';

/** The toxics that never lose a byte, each with attributes drawn from `rnd`, under a few fixed names per stream. */
function randomToxic(rnd: () => number, stream: 'upstream' | 'downstream'): ToxicSpec {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const type = pick(['latency', 'bandwidth', 'slicer', 'stall', 'window', 'slow_close'] as const);
  const attributes: Record<string, number> = {
    latency: { latency: int(0, 40), jitter: int(0, 10) },
    bandwidth: { rate: int(20, 2000) },
    slicer: ((average) => ({ average_size: average, size_variation: int(0, average - 1), delay: int(0, 3000) }))(int(1, 2000)),
    stall: { duration: int(0, 30) },
    window: { bytes: int(1, 20_000) },
    slow_close: { delay: int(0, 50) },
  }[type];
  // Few names, so the same toxic comes back updated, in another place or as another type.
  return parseToxicSpec({ name: `${stream}-${int(0, 3)}`, type, stream, toxicity: pick([1, 1, 0.5]), attributes });
}

/**
 * Random toxic lists applied to a live relay over and over (added, updated, drawn out, removed, in
 * new orders) while random data goes both ways: every byte arrives, in order, and both ends see FIN.
 * TOXIC_SEEDS=N runs seeds 1..N instead of the six (200 passed when this was written).
 */
describe('ConnectionToxics under random add/update/remove, data both ways (seeded)', () => {
  const res = new Resources();
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(async () => {
    clock.restore();
    await res.closeAll();
  });

  /** Two connected sockets on 127.0.0.1 (a closed peer's data stays readable, as an in-memory pair's does not). */
  async function socketPair(): Promise<[Socket, Socket]> {
    const server = res.server(createServer({ allowHalfOpen: true }));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const dialled = res.socket(await connectTo(await listen(server)));
    const other = res.socket(await accepted);
    server.close();
    return [dialled, other];
  }

  for (const seed of process.env.TOXIC_SEEDS ? Array.from({ length: Number(process.env.TOXIC_SEEDS) }, (_, i) => i + 1) : [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, async function () {
      this.timeout(60_000);
      const rnd = seededRandom(seed);
      const [client, relayClient] = await socketPair();
      const [relayTarget, target] = await socketPair();
      const relay = new Relay(relayClient, relayTarget, { now: () => clock.now, windowBytes: 32 * 1024 });
      const toxics = new ConnectionToxics(relay, seededRandom(seed + 1000));
      const up = randomBytes(150_000 + seed, seed);
      const down = randomBytes(150_000 + 2 * seed, seed + 1);
      const got = { up: [] as Buffer[], down: [] as Buffer[], upEnded: false, downEnded: false };
      target.on('data', (d: Buffer) => got.up.push(d));
      target.on('end', () => (got.upEnded = true));
      client.on('data', (d: Buffer) => got.down.push(d));
      client.on('end', () => (got.downEnded = true));
      const write = async (side: Socket, chunks: Buffer[]) => {
        for (const chunk of chunks) if (!side.write(chunk)) await new Promise((r) => side.once('drain', r));
        side.end();
      };
      // A slow link each way (its rate changing), so the changes happen while data flows.
      const slow = () =>
        (['upstream', 'downstream'] as const).map((stream) => parseToxicSpec({ name: `bw-${stream}`, type: 'bandwidth', stream, attributes: { rate: 100 + Math.floor(rnd() * 400) } }));
      toxics.apply(slow());
      void write(client, randomChunks(up, 20_000, seed + 2));
      void write(target, randomChunks(down, 20_000, seed + 3));
      let result: unknown = null;
      void relay.done.then((r) => (result = { ...r, at: clock.now }));
      let changes = 0;
      let lastList: string[] = [];
      for (let step = 0; !(got.upEnded && got.downEnded); step++) {
        if (step > 30_000) {
          const info = (d: typeof relay.clientToTarget) => ({ reasons: d.valve.ledger.reasons(), held: d.heldBytes, read: d.bytesRead, ended: d.ended, source: d.sourceDone, stages: d.stageList.map((x) => [x.constructor.name, x.heldBytes]) });
          throw new Error(`stuck: up ${Buffer.concat(got.up).length}/${up.length}, down ${Buffer.concat(got.down).length}/${down.length} ${JSON.stringify({ up: info(relay.clientToTarget), down: info(relay.targetToClient), last: lastList, result })}`);
        }
        if (rnd() < 0.3) {
          const list = [...Array(Math.floor(rnd() * 5))].map(() => randomToxic(rnd, rnd() < 0.5 ? 'upstream' : 'downstream'));
          // One toxic per name (the API refuses a second), the list in a random order.
          const unique = [...new Map([...list, ...slow()].map((t) => [t.name, t])).values()].sort(() => rnd() - 0.5);
          toxics.apply(unique);
          lastList = unique.map((t) => `${t.name}:${t.type}${JSON.stringify(t.attributes)}@${t.toxicity}`);
          changes++;
        }
        await clock.tickAsync(Math.floor(rnd() * 20));
        await turns(2);
      }
      expect({ up: sha256(Buffer.concat(got.up)), down: sha256(Buffer.concat(got.down)) }).to.deep.equal({ up: sha256(up), down: sha256(down) });
      if (process.env.TOXIC_SEEDS) console.log(`seed ${seed}: ${changes} changes, ${clock.now} ms`);
      expect(changes).to.be.greaterThan(10);
    });
  }
});
