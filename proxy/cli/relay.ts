import type { Address } from '../net/address.js';
import cluster from 'node:cluster';
import { UsageError, type ParsedOptions } from './args.js';
import { runPrimary, serveAsWorker, WORKERS_ENV } from '../sidecar/workers.js';
import { SpillDirError, SpillStore } from '../spill/index.js';
import { RELAY_DEFAULTS } from '../relay/defaults.js';
import { formatSize } from '../config/units.js';
import type { MessageFraming, OverflowPolicy } from '../../windowing/index.js';
import { RelayServer, type RelayServerOptions } from '../relay/relay-server.js';
import { COMMON_OPTIONS, connectionSettings, RELAY_ONLY_OPTIONS } from './common-options.js';
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
  ],
  options: [
    { name: 'listen', kind: 'address', required: true, help: 'where clients connect (port 0 picks a free one)' },
    { name: 'target', kind: 'address', required: true, help: 'the slow service to protect' },
    ...COMMON_OPTIONS,
    ...RELAY_ONLY_OPTIONS,
    { name: 'messages', kind: 'choice', choices: ['lines', 'u32be'], help: 'client-to-target bytes are messages: newline-ended lines, or 4-byte big-endian length + body' },
    { name: 'overflow', kind: 'choice', choices: ['block', 'drop-newest', 'drop-oldest', 'spill'], default: RELAY_DEFAULTS.overflow, help: 'when the window toward the target is full: hold the client back, drop whole messages, or spill them to disk (all but block need --messages)' },
    { name: 'max-message', kind: 'size', default: formatSize(RELAY_DEFAULTS.maxMessageBytes), min: 1, max: 0xffffffff, help: 'longest message body; a longer one closes its connection (never truncated)' },
    { name: 'spill-dir', kind: 'string', placeholder: 'DIR', help: `where --overflow spill keeps what does not fit in memory (default ${RELAY_DEFAULTS.spillDir})` },
    { name: 'spill-max', kind: 'size', default: formatSize(RELAY_DEFAULTS.spillMaxBytes), min: 64 * 1024, help: 'most bytes on disk over all connections; past it spill falls back to block' },
    { name: 'workers', kind: 'count', default: '1', min: 1, max: 64, help: 'processes sharing the listening socket (node:cluster), each with its share of --memory-budget' },
    { name: 'read-path', kind: 'choice', choices: ['onread', 'stream'], default: RELAY_DEFAULTS.readPath, help: "how sockets are read: 'onread' reuses buffers (fast), 'stream' is Node's ordinary path" },
  ],
  run: runRelay,
};

async function runRelay(o: ParsedOptions): Promise<number> {
  const overflow = o.overflow as OverflowPolicy;
  if (overflow !== 'block' && o.messages === undefined) {
    throw new UsageError(`--overflow ${overflow} needs --messages lines|u32be (only whole messages are ever dropped or spilled)`);
  }
  if (o['spill-dir'] !== undefined && overflow !== 'spill') throw new UsageError('--spill-dir only applies with --overflow spill');
  const workers = o.workers as number;
  const drainTimeoutMs = o['drain-timeout'] as number;
  if (workers > 1 && cluster.isPrimary) {
    // Checked here too, so a bad directory exits 2 with one line as it does without workers.
    if (overflow === 'spill') await proveSpillDir((o['spill-dir'] as string | undefined) ?? RELAY_DEFAULTS.spillDir, o['spill-max'] as number);
    return runPrimary({
      workers,
      command: 'relay',
      drainTimeoutMs,
      ...(o.metrics ? { metrics: o.metrics as Address } : {}),
      ...(o.agent ? { agent: o.agent as Address } : {}),
      shedAt: o['shed-at'] as number,
    });
  }
  const share = cluster.isWorker ? Math.max(1, Number(process.env[WORKERS_ENV] ?? 1)) : 1;
  const server = new RelayServer({ ...relayServerOptions(o, share), onNotice: (text) => logLine(text) });
  const registry = sidecarRegistry(server);

  if (cluster.isWorker) {
    let address: Address;
    try {
      address = await server.listen();
    } catch (err) {
      logLine(`cannot listen: ${(err as Error).message}`);
      return 1;
    }
    await serveAsWorker(address, () => ({ pressure: server.governor.pressure, metrics: registry.snapshot() }), (ms) => server.shutdown(ms), drainTimeoutMs);
    return 0;
  }

  const endpoints: Array<() => Promise<SideEndpoint>> = [];
  if (o.metrics) endpoints.push(metricsEndpoint(o.metrics as Address, registry, () => server.health()));
  if (o.agent) endpoints.push(agentEndpoint(o.agent as Address, () => server.agentReply()));
  return serveUntilSignal({
    name: 'relay',
    sidecar: server,
    endpoints,
    drainTimeoutMs,
    drainNotice: 'no longer accepting',
    onStartError: (err) => {
      if (err instanceof SpillDirError) throw new UsageError(err.message);
    },
  });
}

/** The RelayServer options from parsed flags; `share` divides the memory budget among workers. */
export function relayServerOptions(o: ParsedOptions, share = 1): RelayServerOptions {
  return {
    listen: o.listen as Address,
    target: o.target as Address,
    windowBytes: o.window as number,
    ...connectionSettings(o),
    connectRetryMs: o['connect-retry'] as number,
    readPath: o['read-path'] as 'onread' | 'stream',
    memoryBudgetBytes: Math.floor((o['memory-budget'] as number) / share),
    adaptiveConcurrency: o['adaptive-concurrency'] === true,
    shedAt: o['shed-at'] as number,
    rateBytesPerS: o.rate as number,
    ...(o.messages !== undefined ? { messages: o.messages as MessageFraming } : {}),
    overflow: o.overflow as OverflowPolicy,
    maxMessageBytes: o['max-message'] as number,
    ...(o['spill-dir'] !== undefined ? { spillDir: o['spill-dir'] as string } : {}),
    spillMaxBytes: o['spill-max'] as number,
  };
}

/** Opens and closes a spill store in `dir`: a directory that cannot take spill is a usage error. */
async function proveSpillDir(dir: string, maxBytes: number): Promise<void> {
  try {
    await (await SpillStore.open({ dir, maxBytes })).close();
  } catch (err) {
    if (err instanceof SpillDirError) throw new UsageError(err.message);
    throw err;
  }
}
