import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { connectTo, listen, Resources, until } from '../../helpers/sockets.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';

describe('tunnel sidecars list their connections with the stream and its windows (/connections)', () => {
  const res = new Resources();
  const tunnels: Tunnel[] = [];
  afterEach(async () => {
    await Promise.all(tunnels.splice(0).map((t) => t.close()));
    await res.closeAll();
  });

  it('tunnel-client: the onward side is the stream; tunnel-server: the client side is; the same id, the windows the session keeps', async () => {
    const sockets: Socket[] = [];
    const target = res.server(createServer({ allowHalfOpen: true }, (s) => (s.pause(), sockets.push(s))));
    const t = await startTunnel(tcp(await listen(target)));
    tunnels.push(t);
    const client = res.socket(await connectTo(t.port));
    client.write(Buffer.alloc(1024, 1));
    await until(() => sockets.length === 1 && t.server.connections(10).connections[0]?.clientToTarget?.bytes === 1024, 'the bytes at the server');

    const atClient = t.client.connections(10).connections[0]!;
    const atServer = t.server.connections(10).connections[0]!;
    expect(atClient).to.include({ client: `127.0.0.1:${client.localPort}`, phase: 'relaying' });
    expect(atClient.stream).to.include({ side: 'target' });
    expect(atServer.stream).to.include({ side: 'client', id: atClient.stream!.id });
    expect(atClient.stream!.id % 2, 'the dialling side opens odd ids').to.equal(1);
    expect(atServer.client).to.match(new RegExp(`#${atClient.stream!.id}$`));
    for (const stream of [atClient.stream!, atServer.stream!]) {
      expect(stream.recvWindowBytes).to.be.at.least(256 * 1024);
      expect(stream.sendWindowBytes).to.be.within(1, 16 * 1024 * 1024);
      expect(stream.recvBufferedBytes).to.equal(0);
    }
  });
});
