import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { RelayServer, type AccessLogEntry } from '../../../proxy/index.js';
import { Scope } from '../../../scenarios/harness/scope.js';
import { idleFlood } from '../../../scenarios/idle-flood.js';
import { resourceBaseline, settledSince } from '../../helpers/handles.js';
import { connectTo, listen, Resources, until } from '../../helpers/sockets.js';

/**
 * Abuse cases for the relay (HARDENING rows 1, 10-14): each runs against a fresh server, and
 * after each one every socket, server and timer it created must be gone.
 */
describe('relay under abuse', () => {
  const res = new Resources();
  const scope = new Scope();
  afterEach(async () => {
    await res.closeAll();
    await scope.close();
  });

  async function withLeakCheck(body: () => Promise<void>): Promise<void> {
    const before = await resourceBaseline();
    await body();
    await res.closeAll();
    await scope.close();
    expect(await settledSince(before), 'resources left behind').to.deep.equal({});
  }

  it('a flood of idle connections never puts more than --max-conns on the target, and a real client is still served', async () => {
    await withLeakCheck(async () => {
      const logs: AccessLogEntry[] = [];
      let server!: RelayServer;
      const seen = await idleFlood({
        scope,
        start: async (targetPort) => {
          server = new RelayServer({
            listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
            target: { kind: 'tcp', host: '127.0.0.1', port: targetPort },
            maxConns: 5,
            idleTimeoutMs: 300,
            onAccessLog: (e) => logs.push(e),
          });
          const address = await server.listen();
          return address.kind === 'tcp' ? address.port : 0;
        },
        idle: 120,
        holdMs: 0,
      });
      expect(seen.real, 'the real client served').to.have.property('servedMs');
      expect('end' in seen.real && seen.real.end?.how, 'then a FIN').to.equal('end');
      await until(() => logs.length === 121, 'every connection finished');
      expect(seen.maxAtTarget).to.be.at.most(5);
      const ends = new Set(logs.map((l) => l.end));
      expect([...ends].sort()).to.deep.equal(['closed', 'idle-timeout']);
      await server.shutdown(0);
    });
  });

  it('clients that reset or leave mid-transfer and targets that reset leave nothing behind', async () => {
    await withLeakCheck(async () => {
      let n = 0;
      const target = res.server(
        createServer({ allowHalfOpen: true }, (s: Socket) => {
          s.on('error', () => {});
          if (n++ % 2 === 0) s.once('data', () => s.resetAndDestroy());
          else s.resume().on('end', () => s.end());
        }),
      );
      const server = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'tcp', host: '127.0.0.1', port: await listen(target) } });
      const address = await server.listen();
      const port = address.kind === 'tcp' ? address.port : 0;
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const c = res.socket(await connectTo(port));
          const done = new Promise<void>((r) => c.once('close', () => r()));
          c.write(Buffer.alloc(200_000, i));
          if (i % 3 === 0) c.resetAndDestroy();
          else if (i % 3 === 1) c.end();
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, 50)))]);
          clearTimeout(timer);
          c.destroy();
        }),
      );
      await until(() => server.activeConnections === 0, 'all relays finished');
      await server.shutdown(0);
    });
  });

  it('a shutdown with connections open releases everything by its deadline', async () => {
    await withLeakCheck(async () => {
      const target = res.server(createServer({ allowHalfOpen: true }, (s: Socket) => s.pause()));
      const server = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'tcp', host: '127.0.0.1', port: await listen(target) }, maxConns: 2 });
      const address = await server.listen();
      const port = address.kind === 'tcp' ? address.port : 0;
      const clients = await Promise.all(Array.from({ length: 6 }, async () => res.socket(await connectTo(port))));
      for (const c of clients) c.write(Buffer.alloc(4 * 1024 * 1024));
      await until(() => server.activeConnections === 2 && server.queuedConnections === 4, 'two relaying, four queued');
      await server.shutdown(50);
      expect(server.activeConnections + server.queuedConnections).to.equal(0);
    });
  });
});
