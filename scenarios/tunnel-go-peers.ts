/**
 * Issue 4's interop: sluice's tunnel against an independent yamux peer (hashicorp/yamux, the Go
 * programs in scenarios/go), each way round.
 *
 *   goClientToTunnelServer:  Go yamux client --N streams--> [tunnel-server under test] --> echo target
 *   tcpClientsToGoServer:    N TCP clients --> [tunnel-client under test] --> Go yamux echo server
 *
 * The caller brings the sidecar under test, the sizes and which processes' RSS to watch, and
 * makes its own assertions from what comes back.
 */
import { echoClients, echoServer, type EchoRoundTrip } from './harness/echo.js';
import { runClient, startEchoServer, type ClientOptions, type ClientResult, type GoPeers } from './harness/go-peers.js';
import { measureRss } from './harness/proc-stats.js';
import type { Scope } from './harness/scope.js';
import { listen, now } from './harness/sockets.js';

/** What the sidecar under test gives back once started: where to connect, and which processes to watch. */
export interface StartedSidecar {
  port: number;
  pids?: number[];
}

/** RSS growth of the watched processes while the transfer ran (bytes; empty without pids), and how long it took. */
export interface TransferFigures {
  seconds: number;
  rssGrowthBytes: number[];
}

/** A Go yamux client runs `client` (streams, bytes, pings...) through the tunnel-server `start` brings up in front of an echo target. */
export async function goClientToTunnelServer(opts: {
  scope: Scope;
  peers: GoPeers;
  start(targetPort: number): Promise<StartedSidecar>;
  client: ClientOptions;
}): Promise<TransferFigures & { result: ClientResult }> {
  const { port, pids = [] } = await opts.start(await listen(echoServer(opts.scope)));
  const started = now();
  const { result, growthBytes } = await measureRss(pids, () => runClient(opts.peers.client, `127.0.0.1:${port}`, opts.client), pids.length > 0 ? 200 : 0);
  return { result, seconds: (now() - started) / 1000, rssGrowthBytes: growthBytes };
}

/** `clients` TCP clients x `bytes` (seeded) through the tunnel-client `start` brings up in front of a Go yamux echo server, each echo checked. */
export async function tcpClientsToGoServer(opts: {
  scope: Scope;
  peers: GoPeers;
  start(goServerAddress: string): Promise<StartedSidecar>;
  clients: number;
  bytes: number;
  seed: number;
  timeoutMs?: number;
}): Promise<TransferFigures & { echoes: EchoRoundTrip[] }> {
  const go = await startEchoServer(opts.peers.echoServer, { quiet: true });
  try {
    const { port, pids = [] } = await opts.start(go.address);
    const started = now();
    const { result, growthBytes } = await measureRss(
      pids,
      () => echoClients(opts.scope, port, opts.clients, opts.bytes, opts.seed, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      pids.length > 0 ? 200 : 0,
    );
    return { echoes: result, seconds: (now() - started) / 1000, rssGrowthBytes: growthBytes };
  } finally {
    await go.stop();
  }
}
