import { formatAddress, type Address } from '../net/address.js';
import type { HealthStatus, HttpEndpointsOptions } from '../signals/http-endpoints.js';
import { MetricsRegistry } from '../signals/metrics.js';
import { registerProcessMetrics } from '../signals/process-metrics.js';
import { logLine, onShutdownSignal, readyLine } from './process-signals.js';

/** A sidecar a command runs: it listens, and shuts down gracefully within a deadline. */
export interface Served {
  listen(): Promise<Address>;
  shutdown(drainTimeoutMs: number): Promise<void>;
}

/** A side endpoint started next to the sidecar (metrics, agent checks), with its log line. */
export interface SideEndpoint {
  /** What to log once it is up: one line, or several separated by newlines. */
  notice: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** The command's name, for the ready line: `sluice <name> listening on ...`. */
  name: string;
  sidecar: Served;
  /** Started in order once the sidecar listens; all are closed at the end. */
  endpoints: Array<() => Promise<SideEndpoint>>;
  drainTimeoutMs: number;
  /** What the sidecar does on the first signal, for the log line ("no longer accepting"). */
  drainNotice: string;
  /** Sees a failure to start before it is logged; may throw a UsageError instead (exit 2). */
  onStartError?(err: unknown): void;
}

/**
 * Listens, starts the side endpoints, prints the ready line on stdout, then serves until SIGTERM
 * or SIGINT and drains. Resolves with the exit code: 0 after a drain, 1 when starting failed
 * (everything started so far is closed again).
 */
export async function serveUntilSignal(options: ServeOptions): Promise<number> {
  const started: SideEndpoint[] = [];
  const closeEndpoints = async () => {
    for (const endpoint of started) await endpoint.close();
  };
  try {
    const address = await options.sidecar.listen();
    for (const start of options.endpoints) started.push(await start());
    readyLine(`sluice ${options.name} listening on ${formatAddress(address)}`);
    for (const endpoint of started) logNotice(endpoint.notice);
  } catch (err) {
    await options.sidecar.shutdown(0).catch(() => {});
    await closeEndpoints();
    options.onStartError?.(err);
    logLine(`cannot listen: ${(err as Error).message}`);
    return 1;
  }

  await new Promise<void>((resolve) => {
    const off = onShutdownSignal((signal) => {
      logLine(`${signal}: ${options.drainNotice}; draining up to ${options.drainTimeoutMs} ms`);
      void options.sidecar.shutdown(options.drainTimeoutMs).then(async () => {
        off();
        await closeEndpoints();
        resolve();
      });
    });
  });
  return 0;
}

/** A registry with the sidecar's metric families and the process's. */
export function sidecarRegistry(sidecar: { registerMetrics(registry: MetricsRegistry): void }): MetricsRegistry {
  const registry = new MetricsRegistry();
  sidecar.registerMetrics(registry);
  registerProcessMetrics(registry);
  return registry;
}

/** Logs an endpoint's notice, a line at a time. */
export function logNotice(notice: string): void {
  for (const line of notice.split('\n')) logLine(line);
}

/** `--metrics`: /metrics, /healthz, /connections and the live page over HTTP (node:http and the page are loaded only when it starts). */
export function metricsEndpoint(
  listen: Address,
  registry: MetricsRegistry,
  health?: () => HealthStatus,
  sources: Pick<HttpEndpointsOptions, 'connections' | 'proxyHealth'> = {},
): () => Promise<SideEndpoint> {
  const { connections } = sources;
  return async () => {
    const { startHttpEndpoints } = await import('../signals/http-endpoints.js');
    const endpoints = await startHttpEndpoints(listen, registry, health, { onNotice: logLine, ...sources });
    const base = `http://${formatAddress(endpoints.address)}`;
    // The first line is the contract (DESIGN.md); the second says what else is there, and why to keep it private.
    const page = connections ? `\nlive page on ${base}/ (lists client addresses: keep --metrics private)` : '';
    return { notice: `metrics on ${base}/metrics${page}`, close: () => endpoints.close() };
  };
}

/** `--agent`: the HAProxy agent-check responder (loaded only when it starts). */
export function agentEndpoint(listen: Address, reply: () => string): () => Promise<SideEndpoint> {
  return async () => {
    const { startAgentCheck } = await import('../signals/agent-check.js');
    const agent = await startAgentCheck(listen, reply, { onNotice: logLine });
    return { notice: `agent checks on ${formatAddress(agent.address)}`, close: () => agent.close() };
  };
}
