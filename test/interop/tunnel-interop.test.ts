import { expect } from 'chai';
import { createServer } from 'node:net';
import { echoClients } from '../../scenarios/harness/echo.js';
import { echoServer, listen, Resources, until } from '../helpers/sockets.js';
import { startTunnel, tcp, type Tunnel } from '../helpers/tunnel.js';
import { buildGoPeers, runClient, startEchoServer, type EchoServer, type GoPeers } from '../../scenarios/harness/go-peers.js';
import { Scope } from '../../scenarios/harness/scope.js';
import { SLUICE_CLI, startTunnelSidecar } from '../../scenarios/harness/sluice.js';
import { goClientToTunnelServer, tcpClientsToGoServer } from '../../scenarios/tunnel-go-peers.js';

const MiB = 1024 * 1024;

describe('interop: sluice tunnel with independent Go yamux peers (hashicorp/yamux)', function () {
  this.timeout(120_000);
  let peers: GoPeers;
  const res = new Resources();
  const scope = new Scope();
  const tunnels: Tunnel[] = [];
  const goServers: EchoServer[] = [];

  before(async function () {
    this.timeout(300_000);
    const built = await buildGoPeers();
    if (!built) this.skip(); // buildGoPeers() logged why
    peers = built;
  });

  afterEach(async () => {
    await scope.close();
    await Promise.all(tunnels.splice(0).map((t) => t.close()));
    await Promise.all(goServers.splice(0).map((s) => s.stop()));
    await res.closeAll();
  });

  async function goEchoServer(options: Parameters<typeof startEchoServer>[1] = {}): Promise<EchoServer> {
    const s = await startEchoServer(peers.echoServer, { quiet: true, ...options });
    goServers.push(s);
    return s;
  }

  /** n TCP clients x size bytes through `port`, each checked against its own echo. */
  async function expectEchoes(port: number, n: number, size: number): Promise<void> {
    const echoes = await echoClients(scope, port, n, size, 40);
    for (const e of echoes) expect(e.received).to.deep.equal(e.sent);
  }

  it('a yamux client dials `sluice tunnel-server`: 8 streams x 4 MiB through to an echo target, every byte back', async () => {
    const { result: r } = await goClientToTunnelServer({
      scope,
      peers,
      start: async (targetPort) => ({ port: (await startTunnelSidecar(scope, SLUICE_CLI, 'tunnel-server', ['--target', `127.0.0.1:${targetPort}`])).port }),
      client: { streams: 8, bytes: 4 * MiB, pings: 3 },
    });
    expect(r.error, r.stderr).to.equal(undefined);
    expect(r.exitCode).to.equal(0);
    expect(r.totals).to.include({ streams: 8, matched: 8, bytesSent: 32 * MiB, bytesReceived: 32 * MiB });
    for (const s of r.streams) expect(s).to.include({ match: true, remoteClosed: true });
    expect(r.rttMs).to.have.length(3);
  });

  it('`sluice tunnel-client` uses a yamux server: 8 TCP clients x 4 MiB echoed intact', async () => {
    const { echoes } = await tcpClientsToGoServer({
      scope,
      peers,
      start: async (goServer) => ({ port: (await startTunnelSidecar(scope, SLUICE_CLI, 'tunnel-client', ['--server', goServer])).port }),
      clients: 8,
      bytes: 4 * MiB,
      seed: 40,
    });
    expect(echoes).to.have.length(8);
    for (const e of echoes) expect(e.received).to.deep.equal(e.sent);
  });

  it('a yamux client half-closes and keeps reading; a target that only drains answers with FIN', async () => {
    const drained: number[] = [];
    const sink = res.server(
      createServer({ allowHalfOpen: true }, (s) => {
        let n = 0;
        s.on('data', (d: Buffer) => (n += d.length));
        s.on('end', () => {
          drained.push(n);
          s.end();
        });
      }),
    );
    const t = await startTunnel(tcp(await listen(sink)));
    tunnels.push(t);
    const r = await runClient(peers.client, `127.0.0.1:${t.serverPort}`, { mode: 'send', streams: 3, bytes: 2 * MiB, goAway: true });
    expect(r.exitCode, `${r.stderr}\n${t.linkLines.join('\n')}`).to.equal(0);
    for (const s of r.streams) expect(s).to.include({ bytesSent: 2 * MiB, bytesReceived: 0, remoteClosed: true });
    expect(drained).to.deep.equal([2 * MiB, 2 * MiB, 2 * MiB]);
  });

  it('a yamux client with a 4 MiB window and its own 100 ms keepalive pings', async () => {
    const target = echoServer(res);
    const t = await startTunnel(tcp(await listen(target)));
    tunnels.push(t);
    const r = await runClient(peers.client, `127.0.0.1:${t.serverPort}`, { streams: 2, bytes: 8 * MiB, window: 4 * MiB, keepaliveIntervalMs: 100 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.totals.matched).to.equal(2);
  });

  it('`tunnel-client` keeps a link to a yamux server up with its own keepalive, answering the server pings too', async () => {
    const go = await goEchoServer({ keepaliveIntervalMs: 50 });
    const t = await startTunnel(tcp(1), {}, { server: tcp(go.port), keepaliveIntervalMs: 50 });
    tunnels.push(t);
    await until(() => t.client.pool.linksUp === 1, 'the link');
    const session = t.client.pool.views()[0]!.session;
    await new Promise((r) => setTimeout(r, 400)); // several keepalive rounds both ways
    expect(session.isClosed).to.equal(false);
    expect(session.rttMs).to.be.a('number');
    await expectEchoes(t.port, 2, MiB);
  });

  it('`tunnel-client` over a yamux server with a 4 MiB window, on 3 links', async () => {
    const go = await goEchoServer({ window: 4 * MiB });
    const t = await startTunnel(tcp(1), {}, { server: tcp(go.port), links: 3 });
    tunnels.push(t);
    await until(() => t.client.pool.linksUp === 3, 'three links');
    await expectEchoes(t.port, 9, 2 * MiB);
  });
});
