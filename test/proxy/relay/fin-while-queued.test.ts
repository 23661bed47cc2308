import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { RelayServer, type AccessLogEntry, type Address } from '../../../proxy/index.js';
import { connectTo, listen, readAll, Resources, until } from '../../helpers/sockets.js';

/**
 * A client that half-closes (FIN, nothing sent) while it waits for a slot has its 'end' emitted
 * before the relay exists. The relay must still pass that FIN on and start the half-close clock;
 * otherwise the target never learns the client is done, and the connection lives until the idle
 * timeout (2 x 1 h by default) with no half-close timer armed.
 */
describe('a FIN that arrives while the client waits for a slot', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  for (const readPath of ['onread', 'stream'] as const) {
    it(`is passed on to the target once the client is admitted (${readPath} reads)`, async () => {
      const accepted: Socket[] = [];
      const finSeen: boolean[] = [];
      const target = res.server(
        createServer({ allowHalfOpen: true }, (s) => {
          const i = accepted.push(s) - 1;
          finSeen[i] = false;
          s.on('data', () => {});
          s.on('end', () => {
            finSeen[i] = true;
            s.end('bye');
          });
        }),
      );
      const logs: AccessLogEntry[] = [];
      const server = new RelayServer({
        listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
        target: { kind: 'tcp', host: '127.0.0.1', port: await listen(target) } satisfies Address,
        maxConns: 1,
        readPath,
        onAccessLog: (e) => logs.push(e),
      });
      servers.push(server);
      const address = await server.listen();
      const port = address.kind === 'tcp' ? address.port : 0;
      const first = res.socket(await connectTo(port));
      await until(() => accepted.length === 1, 'the first client on the target');
      const second = res.socket(await connectTo(port));
      await until(() => server.queuedConnections === 1, 'the second client waiting');
      const secondGot = readAll(second);
      second.end(); // FIN while queued
      await new Promise((r) => setTimeout(r, 50));
      first.end(); // the first finishes: its slot goes to the second
      await until(() => accepted.length === 2, 'the second client on the target');
      await until(() => finSeen[1] === true || logs.length === 2, "the second client's FIN at the target");
      expect(finSeen[1], 'the target saw the FIN').to.equal(true);
      expect((await secondGot).bytes).to.equal('bye'.length);
      await until(() => logs.length === 2, 'both finished');
      expect(logs.map((l) => l.end)).to.deep.equal(['closed', 'closed']);
    });
  }
});
