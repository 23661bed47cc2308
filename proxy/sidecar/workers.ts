import cluster, { type Worker } from 'node:cluster';
import { PressureSignals } from '../../windowing/pressure.js';
import { formatAddress, type Address } from '../net/address.js';
import { logLine, onShutdownSignal, readyLine } from './process-signals.js';
import { agentEndpoint, logNotice, metricsEndpoint, type SideEndpoint } from './serve-until-signal.js';
import { MetricsRegistry, type FamilySnapshot } from '../signals/metrics.js';
import { mergePages, type ConnectionsPage } from '../signals/connections-view.js';
import { registerAcceptErrors } from '../signals/process-metrics.js';

/**
 * `--workers N`: N processes (node:cluster) share one listening socket, each a whole relay with
 * its share of the memory budget. The primary holds no connections: it starts the workers,
 * prints the ready line once they all listen, serves /metrics (the workers' figures combined),
 * /healthz and the agent check (from the highest pressure of any worker), /connections (asked
 * of every worker when requested, nothing sent otherwise), restarts a worker that dies, and on
 * SIGTERM/SIGINT tells them all to drain and waits for them.
 *
 *   primary --fork--> worker 1..N --listen (shared)--> clients
 *      ^                   |
 *      +--- ready, state (pressure, metrics) every 250 ms
 *      +--- connections page, when the primary asks for one
 */

/** Messages between the primary and its workers. */
export type WorkerMessage =
  | { type: 'ready'; address: string }
  | { type: 'state'; pressure: number; metrics: FamilySnapshot[] }
  | { type: 'shutdown'; drainTimeoutMs: number }
  | { type: 'connections?'; requestId: number; limit: number }
  | { type: 'connections'; requestId: number; page: ConnectionsPage };

/** How long the primary waits for the workers' connections before answering with what came. */
const CONNECTIONS_WAIT_MS = 1000;

/** The environment variable that tells a worker how many there are (for its budget share). */
export const WORKERS_ENV = 'SLUICE_WORKERS';

/** What the primary serves besides the workers. */
export interface PrimaryOptions {
  workers: number;
  command: string;
  drainTimeoutMs: number;
  metrics?: Address;
  agent?: Address;
  shedAt?: number;
}

/** Runs the primary until shutdown; resolves with the exit code. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  cluster.setupPrimary({ exec: process.argv[1]!, args: process.argv.slice(2) });
  const states = new Map<number, { pressure: number; metrics: FamilySnapshot[] }>();
  const signals = new PressureSignals(options.shedAt !== undefined ? { shedAt: options.shedAt } : {});
  let stopping = false;
  let address: string | null = null;
  const ready = new Set<number>();
  let announced: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (announced = resolve));

  const asked = new Map<number, (worker: number, page: ConnectionsPage) => void>();
  const fork = (): Worker => {
    const worker = cluster.fork({ [WORKERS_ENV]: String(options.workers) });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'connections') {
        asked.get(m.requestId)?.(worker.id, m.page);
      } else if (m.type === 'ready') {
        address = m.address;
        ready.add(worker.id);
        if (ready.size === options.workers) announced();
      } else if (m.type === 'state') {
        states.set(worker.id, { pressure: m.pressure, metrics: m.metrics });
        signals.update(Math.max(...[...states.values()].map((s) => s.pressure)));
      }
    });
    worker.on('exit', (code, signal) => {
      states.delete(worker.id);
      ready.delete(worker.id);
      if (stopping) return;
      logLine(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      setTimeout(fork, 1000).unref();
    });
    return worker;
  };
  for (let i = 0; i < options.workers; i++) fork();

  const exited = new Promise<number>((resolve) => {
    cluster.on('exit', () => {
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) resolve(0);
    });
  });
  const early = new Promise<number>((resolve) => {
    // A worker that cannot even start (port taken) takes the primary down with it.
    cluster.once('exit', (w, code) => {
      if (!ready.has(w.id) && address === null && code !== 0) resolve(code ?? 1);
    });
  });
  const started = await Promise.race([allReady.then(() => -1), early]);
  if (started !== -1) {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    return started;
  }

  const registry = new MetricsRegistry();
  // The primary's own refused accepts (its metrics and agent ports) add to the workers'.
  const own = new MetricsRegistry();
  registerAcceptErrors(own);
  registry.registerMerged(() => [...[...states.values()].map((s) => s.metrics), own.snapshot()]);
  registry.gauge('sluice_workers', 'Worker processes running.', () => Object.keys(cluster.workers ?? {}).length);
  const endpoints: SideEndpoint[] = [];
  let nextRequest = 1;
  const connections = (limit: number) => askWorkers(limit, nextRequest++, asked);
  if (options.metrics) endpoints.push(await metricsEndpoint(options.metrics, registry, () => signals.health(), { connections })());
  if (options.agent) endpoints.push(await agentEndpoint(options.agent, () => signals.agentReply())());
  readyLine(`sluice ${options.command} listening on ${address}`);
  logLine(`${options.workers} workers`);
  for (const endpoint of endpoints) logNotice(endpoint.notice);

  await new Promise<void>((resolve) => {
    const off = onShutdownSignal((signal) => {
      off();
      logLine(`${signal}: telling ${Object.keys(cluster.workers ?? {}).length} workers to drain (up to ${options.drainTimeoutMs} ms)`);
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: 'shutdown', drainTimeoutMs: options.drainTimeoutMs } satisfies WorkerMessage);
      resolve();
    });
  });
  if (Object.keys(cluster.workers ?? {}).length > 0) await exited;
  for (const endpoint of endpoints) await endpoint.close();
  return 0;
}

// Asks every running worker for its connections and merges the answers that come within the wait.
function askWorkers(limit: number, requestId: number, asked: Map<number, (worker: number, page: ConnectionsPage) => void>): Promise<ConnectionsPage> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  return new Promise((resolve) => {
    const pages: ConnectionsPage[] = [];
    const finish = () => {
      clearTimeout(timer);
      asked.delete(requestId);
      resolve(mergePages(pages, limit));
    };
    const timer = setTimeout(finish, CONNECTIONS_WAIT_MS);
    asked.set(requestId, (worker, page) => {
      pages.push({ ...page, connections: page.connections.map((c) => ({ ...c, worker })) });
      if (pages.length === workers.length) finish();
    });
    if (workers.length === 0) return finish();
    for (const w of workers) {
      try {
        w.send({ type: 'connections?', requestId, limit } satisfies WorkerMessage);
      } catch {
        // Gone since it was counted: the wait covers it, and its connections went with it.
      }
    }
  });
}

/**
 * The worker's side: says it is ready, reports its state every 250 ms, answers the primary's
 * requests for its connections, and drains on the primary's word. `drain` shuts the worker's
 * server down.
 */
export function serveAsWorker(
  address: Address,
  state: () => { pressure: number; metrics: FamilySnapshot[] },
  drain: (drainTimeoutMs: number) => Promise<void>,
  ownDrainTimeoutMs: number,
  connections: (limit: number) => ConnectionsPage = (limit) => ({ total: 0, limit, connections: [] }),
): Promise<void> {
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send!(m);
  };
  send({ type: 'ready', address: formatAddress(address) });
  const timer = setInterval(() => send({ type: 'state', ...state() }), 250);
  timer.unref();
  return new Promise((resolve) => {
    let draining = false;
    const stop = (drainTimeoutMs: number) => {
      if (draining) return;
      draining = true;
      clearInterval(timer);
      void drain(drainTimeoutMs).then(() => {
        process.off('message', onMessage);
        off();
        // The IPC channel would keep this process alive; the primary sees the exit.
        cluster.worker?.disconnect();
        resolve();
      });
    };
    const onMessage = (m: WorkerMessage) => {
      if (m.type === 'shutdown') stop(m.drainTimeoutMs);
      else if (m.type === 'connections?') send({ type: 'connections', requestId: m.requestId, page: connections(m.limit) });
    };
    process.on('message', onMessage);
    // Ctrl-C reaches every process of the group: a worker drains on it as well.
    const off = onShutdownSignal(() => stop(ownDrainTimeoutMs));
    process.once('disconnect', () => stop(0));
  });
}
