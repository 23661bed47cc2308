import type { Address } from '../net/address.js';
import { holdYoungGeneration } from '../memory/young-generation.js';
import { UsageError, type ParsedOptions } from '../options/parse.js';
import { RELAY_DEFAULTS } from '../relay/defaults.js';
import type { OverflowPolicy } from '../../windowing/message-queue.js';
import { RelayServer } from '../relay/relay-server.js';
import { checkRelayOptions, RELAY_OPTIONS, relayServerOptions, TOXIC_OPTION, toxicsFromFlags } from '../options/relay.js';
import type { Command } from './command.js';
import { logLine } from '../sidecar/process-signals.js';
import { agentEndpoint, metricsEndpoint, serveUntilSignal, sidecarRegistry, type SideEndpoint } from '../sidecar/serve-until-signal.js';

/** `sluice relay`: plain TCP in, plain TCP out, with backpressure. */
export const relayCommand: Command = {
  name: 'relay',
  summary: 'plain TCP in, plain TCP out; reads from the fast side only while the slow side keeps up',
  usage: 'sluice relay --listen HOST:PORT --target HOST:PORT [options]',
  examples: [
    'sluice relay --listen 127.0.0.1:7000 --target 127.0.0.1:6379',
    'sluice relay --listen [::1]:7000 --target unix:/run/db.sock --window 64KiB --max-conns 100',
    'sluice relay --listen 0.0.0.0:7000 --target 10.0.0.5:5432 --metrics 127.0.0.1:9100 --log json',
    'sluice relay --listen 127.0.0.1:7000 --target 127.0.0.1:8125 --messages lines --overflow drop-oldest --window 64KiB',
    'sluice relay --listen 127.0.0.1:7000 --target 127.0.0.1:9000 --messages u32be --overflow spill --spill-dir /var/tmp/sluice --spill-max 4GiB',
    'sluice relay --listen 0.0.0.0:7000 --target 127.0.0.1:6379 --workers 2',
    'sluice relay --listen 0.0.0.0:7000 --target 127.0.0.1:6379 --accept-proxy-from 10.0.0.0/8 --send-proxy v2',
    'sluice relay --listen 127.0.0.1:7000 --target 127.0.0.1:5432 --adaptive-concurrency --max-conns 200 --agent 127.0.0.1:7100 --shed-at 0.7',
    "sluice relay --listen 127.0.0.1:7000 --target 127.0.0.1:6379 --toxic 'latency:downstream:latency=100,jitter=10' --toxic bandwidth:upstream:rate=500",
  ],
  options: [...RELAY_OPTIONS, TOXIC_OPTION],
  run: runRelay,
};

async function runRelay(o: ParsedOptions): Promise<number> {
  checkRelayOptions(o);
  toxicsFromFlags(o); // a bad --toxic stops the primary too, before any worker starts
  const overflow = o.overflow as OverflowPolicy;
  const workers = o.workers as number;
  const drainTimeoutMs = o['drain-timeout'] as number;
  // node:cluster and the workers' code are loaded only where they can matter: with --workers, or in
  // a process node:cluster forked (Node tells it so by NODE_UNIQUE_ID, as node:cluster itself reads).
  const cluster = workers > 1 || 'NODE_UNIQUE_ID' in process.env ? (await import('node:cluster')).default : null;
  const isWorker = cluster?.isWorker === true;
  // The spill store's code is loaded only with --overflow spill (no other relay can meet a SpillDirError).
  const spill = overflow === 'spill' ? await import('../spill/index.js') : null;
  if (workers > 1 && !isWorker) {
    // Checked here too, so a bad directory exits 2 with one line as it does without workers.
    if (spill) await proveSpillDir(spill, (o['spill-dir'] as string | undefined) ?? RELAY_DEFAULTS.spillDir, o['spill-max'] as number);
    const { runPrimary } = await import('../sidecar/workers.js');
    return runPrimary({
      workers,
      command: 'relay',
      drainTimeoutMs,
      ...(o.metrics ? { metrics: o.metrics as Address } : {}),
      ...(o.agent ? { agent: o.agent as Address } : {}),
      shedAt: o['shed-at'] as number,
    });
  }
  // A burst of accepted connections would otherwise leave the young generation at its 16 MiB maximum for a long while.
  holdYoungGeneration();
  const workerSide = isWorker ? await import('../sidecar/workers.js') : null;
  const share = workerSide ? Math.max(1, Number(process.env[workerSide.WORKERS_ENV] ?? 1)) : 1;
  const server = new RelayServer({ ...relayServerOptions(o, share), onNotice: (text) => logLine(text) });
  const registry = sidecarRegistry(server);

  if (workerSide) {
    let address: Address;
    try {
      address = await server.listen();
    } catch (err) {
      logLine(`cannot listen: ${(err as Error).message}`);
      return 1;
    }
    await workerSide.serveAsWorker(address, () => ({ pressure: server.governor.pressure, metrics: registry.snapshot() }), (ms) => server.shutdown(ms), drainTimeoutMs, (limit) => server.connections(limit));
    return 0;
  }

  const endpoints: Array<() => Promise<SideEndpoint>> = [];
  if (o.metrics) endpoints.push(metricsEndpoint(o.metrics as Address, registry, () => server.health(), { connections: (limit) => server.connections(limit) }));
  if (o.agent) endpoints.push(agentEndpoint(o.agent as Address, () => server.agentReply()));
  return serveUntilSignal({
    name: 'relay',
    sidecar: server,
    endpoints,
    drainTimeoutMs,
    drainNotice: 'no longer accepting',
    onStartError: (err) => {
      if (spill && err instanceof spill.SpillDirError) throw new UsageError(err.message);
    },
  });
}

/** Opens and closes a spill store in `dir`: a directory that cannot take spill is a usage error. */
async function proveSpillDir(spill: typeof import('../spill/index.js'), dir: string, maxBytes: number): Promise<void> {
  try {
    await (await spill.SpillStore.open({ dir, maxBytes })).close();
  } catch (err) {
    if (err instanceof spill.SpillDirError) throw new UsageError(err.message);
    throw err;
  }
}
