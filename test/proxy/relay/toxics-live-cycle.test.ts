import { expect } from 'chai';
import sinon from 'sinon';
import { RelayServer, type AccessLogEntry, type Address, type RelayServerOptions } from '../../../proxy/index.js';
import { parseToxicSpec } from '../../../proxy/stages/toxics/index.js';
import type { DirectionView } from '../../../proxy/signals/connections-view.js';
import { flood, listen, Resources } from '../../helpers/sockets.js';
import { advance, TOXIC_FAKES, turns } from '../../helpers/toxics.js';
import { holdingTarget, relayed, untilTurns as until, type RelayedConnection } from '../../helpers/live-relay.js';

const tcp = (port: number): Address => ({ kind: 'tcp', host: '127.0.0.1', port });

/** What a case's observations get: the server, the live connection, the fake clock. */
interface Live extends RelayedConnection {
  server: RelayServer;
  clock: sinon.SinonFakeTimers;
  logs: AccessLogEntry[];
  /** The one connection's client-to-target direction as /connections shows it. */
  up(): DirectionView;
}

/**
 * One toxic's full cycle on one live connection: added, its effect observed; removed, its absence
 * observed. Observations are counts (bytes delivered, messages dropped, held or not), on the fake
 * clock where time is the subject; no wall-clock thresholds.
 */
interface Cycle {
  name: string;
  options?: Partial<RelayServerOptions>;
  toxic: Record<string, unknown>;
  on(live: Live): Promise<void>;
  off(live: Live): Promise<void>;
}

const CYCLES: Cycle[] = [
  {
    name: 'bandwidth (rate=1: 100 bytes per 100 ms): the rate while on; removed, what waits goes at once and new data flows without the clock moving',
    toxic: { type: 'bandwidth', attributes: { rate: 1 } },
    async on({ server, target, atClient, clock }) {
      const before = server.stats().targetToClient.bytes;
      target.write('a'.repeat(300));
      await until(() => server.stats().targetToClient.bytes === before + 300, 'the relay reading 300 bytes');
      await advance(clock, 99);
      expect(atClient.bytes).to.equal(0);
      await clock.tickAsync(1);
      await until(() => atClient.bytes === 100, 'the first 100 bytes at 100 ms');
      await advance(clock, 100);
      await until(() => atClient.bytes === 200, '200 bytes at 200 ms');
      await turns(20);
      expect(atClient.bytes).to.equal(200);
    },
    async off({ target, atClient }) {
      await until(() => atClient.bytes === 300, 'the last 100 handed on at removal');
      target.write('b'.repeat(10_000));
      await until(() => atClient.bytes === 10_300, '10 000 more with no time passing');
      expect(atClient.text).to.equal('a'.repeat(300) + 'b'.repeat(10_000));
    },
  },
  {
    name: 'slicer (average_size=10, delay=1000 µs): 10-byte pieces a millisecond apart while on; removed, the rest and new data whole at once',
    toxic: { type: 'slicer', attributes: { average_size: 10, size_variation: 0, delay: 1000 } },
    async on({ server, target, atClient, clock }) {
      const before = server.stats().targetToClient.bytes;
      // 80 bytes halved (toxiproxy's cut) down to 10: eight pieces of 10.
      target.write('0123456789'.repeat(8));
      await until(() => server.stats().targetToClient.bytes === before + 80, 'the relay reading 80 bytes');
      // The first piece is due at once, each next one a millisecond later.
      await advance(clock, 0);
      await until(() => atClient.bytes === 10, 'the first piece');
      for (const bytes of [20, 30]) {
        await turns(20);
        expect(atClient.bytes).to.equal(bytes - 10);
        await advance(clock, 1);
        await until(() => atClient.bytes === bytes, `${bytes / 10} pieces`);
      }
    },
    async off({ target, atClient }) {
      await until(() => atClient.bytes === 80, 'the last five pieces handed on at removal');
      target.write('x'.repeat(5000));
      await until(() => atClient.bytes === 5080, 'new data whole, with no time passing');
      expect(atClient.text).to.equal('0123456789'.repeat(8) + 'x'.repeat(5000));
    },
  },
  {
    name: 'window (bytes=4096, upstream): a target that reads nothing makes the relay hold the client at a few KiB while on; removed, it reads on up to its own window',
    toxic: { type: 'window', stream: 'upstream', attributes: { bytes: 4096 } },
    async on(live) {
      const { client, target, up } = live;
      target.pause();
      flood(client);
      // Once the kernel's buffers toward the target are full, bytes wait in the relay: held once
      // the toxic's 4 KiB wait, so at most that and one read (64 KiB) are buffered.
      await until(() => up().held && up().bufferedBytes >= 4096, 'the client held by the small window');
      expect(up().bufferedBytes).to.be.below(4096 + 64 * 1024);
      expect(up().windowBytes, 'the relay\'s own window is far larger').to.be.above(2 * (4096 + 64 * 1024));
    },
    async off({ up }) {
      await until(() => up().bufferedBytes >= 2 * (4096 + 64 * 1024), 'more buffered than the small window allows');
    },
  },
  {
    name: 'slow_close (delay=300): the target\'s FIN held back while on (data through at once); removed, the FIN goes at once',
    toxic: { type: 'slow_close', attributes: { delay: 300 } },
    async on({ target, atClient, clock }) {
      target.end('bye');
      await until(() => atClient.text === 'bye', 'the data at once');
      await advance(clock, 299);
      expect(atClient.ended).to.equal(false);
    },
    async off({ atClient }) {
      await until(() => atClient.ended, 'the FIN at removal, with no time passing');
    },
  },
  {
    name: 'reset_peer (timeout=200, upstream): the first data held, and the client held, while on; removed, no reset, the data handed on',
    toxic: { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 200 } },
    async on({ server, client, atTarget, clock, up }) {
      const before = server.stats().clientToTarget.bytes;
      client.write('trigger');
      await until(() => server.stats().clientToTarget.bytes === before + 7, 'trigger read');
      await advance(clock, 199);
      expect([atTarget.bytes, client.destroyed, up().held, up().holdReasons]).to.deep.equal([0, false, true, ['toxic']]);
    },
    async off({ client, target, atTarget, clock, logs }) {
      await until(() => atTarget.text === 'trigger', 'the held data handed on at removal');
      await advance(clock, 1000); // long past the reset's time
      client.write(' and more');
      await until(() => atTarget.text === 'trigger and more', 'the connection relays on');
      expect([client.destroyed, target.destroyed, logs.length]).to.deep.equal([false, false, 0]);
    },
  },
  {
    name: 'drop (probability=1, message mode): every message dropped and counted while on; removed, messages go through',
    options: { messages: 'lines' },
    toxic: { type: 'drop', stream: 'upstream', attributes: { probability: 1 } },
    async on({ server, client, atTarget }) {
      client.write('one\ntwo\nthree\n');
      await until(() => server.messagesDroppedByReason().toxic === 3, 'three messages dropped');
      await turns(20);
      expect(atTarget.bytes).to.equal(0);
    },
    async off({ server, client, atTarget }) {
      client.write('four\nfive\n');
      await until(() => atTarget.text === 'four\nfive\n', 'messages through');
      expect(server.messagesDroppedByReason().toxic).to.equal(3);
    },
  },
];

/** Each toxic added to a live connection, observed, removed, observed again (the whole cycle, one table). */
describe('toxics on a live connection: add, observe, remove, observe', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(async () => {
    clock.restore();
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  for (const cycle of CYCLES) {
    it(cycle.name, async () => {
      const held = holdingTarget(res);
      const logs: AccessLogEntry[] = [];
      const server = new RelayServer({ listen: tcp(0), target: tcp(await listen(held.server)), now: () => clock.now, onAccessLog: (e) => logs.push(e), ...cycle.options });
      servers.push(server);
      const address = await server.listen();
      const connection = await relayed(res, address.kind === 'tcp' ? address.port : 0, held);
      const up = (): DirectionView => {
        const views = server.connections(10).connections;
        expect(views).to.have.length(1);
        return views[0]!.clientToTarget!;
      };
      const live: Live = { ...connection, server, clock, logs, up };
      server.setToxics([parseToxicSpec(cycle.toxic)]);
      await cycle.on(live);
      server.setToxics([]);
      await cycle.off(live);
    });
  }
});
