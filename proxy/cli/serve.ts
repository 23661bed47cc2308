import { formatDuration } from '../config/units.js';
import type { Address } from '../net/address.js';
import { UsageError, type ParsedOptions } from '../options/parse.js';
import { stderrAccessLog, type LogFormat } from '../relay/access-log.js';
import { CONNECTION_DEFAULTS } from '../relay/defaults.js';
import { checkApiListen } from '../serve/api-listen-policy.js';
import { startControlApi, type ControlApi } from '../serve/api-server.js';
import { ConfigFileError, loadConfigFile } from '../serve/config-file.js';
import { ApiError } from '../serve/control.js';
import { Fleet } from '../serve/fleet.js';
import type { ProxySpec } from '../serve/proxy-config.js';
import { holdYoungGeneration } from '../memory/young-generation.js';
import { logLine } from '../sidecar/process-signals.js';
import { agentEndpoint, metricsEndpoint, serveUntilSignal, type SideEndpoint } from '../sidecar/serve-until-signal.js';
import { MetricsRegistry } from '../signals/metrics.js';
import { registerProcessMetrics } from '../signals/process-metrics.js';
import type { Command } from './command.js';

/** toxiproxy's API port, so its clients find sluice where they look for toxiproxy. */
export const DEFAULT_API_ADDRESS = '127.0.0.1:8474';

/** `sluice serve`: many proxies in one process, a config file, reload on SIGHUP and a toxiproxy-compatible API. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'many proxies in one process from a config file, reload on SIGHUP, a toxiproxy-compatible control API',
  usage: 'sluice serve [--config FILE] [--api HOST:PORT] [--metrics HOST:PORT] [options]',
  examples: [
    'sluice serve --config sluice.json',
    'sluice serve --config sluice.json --api 127.0.0.1:8474 --metrics 127.0.0.1:9100',
    'sluice serve --api 127.0.0.1:0            # no file: proxies come from the API (toxiproxy clients)',
    'kill -HUP $(pidof sluice)                  # re-read the config file',
  ],
  options: [
    { name: 'config', kind: 'string', placeholder: 'FILE', help: 'JSON: {"proxies": [{"name", "listen", "upstream", "enabled", "toxics", <relay settings by flag name>}]} (or toxiproxy\'s bare array)' },
    { name: 'api', kind: 'address', default: DEFAULT_API_ADDRESS, help: "the control API (toxiproxy 2.x's, plus settings, connections and /reload)" },
    { name: 'api-insecure', kind: 'flag', help: 'allow --api on a non-loopback address (it has no authentication)' },
    { name: 'metrics', kind: 'address', help: 'serve /metrics (every family labelled proxy="NAME"), /healthz (?proxy=NAME for one), /connections and the live page (/) on this HOST:PORT; they show client addresses, so keep it private' },
    { name: 'agent', kind: 'address', help: "answer HAProxy agent checks for the worst proxy on this HOST:PORT" },
    { name: 'drain-timeout', kind: 'duration', default: formatDuration(CONNECTION_DEFAULTS.drainTimeoutMs), help: 'on SIGTERM/SIGINT, and for proxies a reload removes, how long connections may finish' },
    { name: 'log', kind: 'choice', choices: ['text', 'json'], default: 'text', help: 'access log format on stderr, one line per finished connection, naming its proxy' },
    { name: 'quiet', kind: 'flag', help: 'no access log' },
  ],
  run: runServe,
};

async function runServe(o: ParsedOptions): Promise<number> {
  const apiAddress = o.api as Address;
  checkApiListen(apiAddress, o['api-insecure'] === true);
  // Its proxies' bursts of connections would otherwise leave the young generation at its 16 MiB maximum for a long while.
  holdYoungGeneration();
  const configFile = o.config as string | undefined;
  let specs: ProxySpec[] = [];
  if (configFile !== undefined) {
    try {
      specs = await loadConfigFile(configFile);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new UsageError(err.message);
      throw err;
    }
  }
  const format = o.log as LogFormat;
  const drainTimeoutMs = o['drain-timeout'] as number;
  const fleet = new Fleet({
    drainTimeoutMs,
    ...(configFile !== undefined ? { configFile } : {}),
    ...(o.quiet === true ? {} : { onAccessLog: stderrAccessLog(format) }),
    onNotice: (text) => logLine(text),
  });
  const registry = new MetricsRegistry();
  fleet.registerMetrics(registry);
  registerProcessMetrics(registry);

  let api: ControlApi | null = null;
  const endpoints: Array<() => Promise<SideEndpoint>> = [];
  if (o.metrics) {
    const sources = { connections: (limit: number) => fleet.liveConnections(limit), proxyHealth: (name: string) => fleet.health(name) };
    endpoints.push(metricsEndpoint(o.metrics as Address, registry, () => fleet.health()!, sources));
  }
  if (o.agent) endpoints.push(agentEndpoint(o.agent as Address, () => fleet.agentReply()));

  const onHangup = (): void => {
    void fleet.reload().then(
      (r) => logLine(`SIGHUP: reloaded ${configFile}: ${r.added.length} added, ${r.removed.length} removed, ${r.changed.length} changed, ${r.unchanged.length} unchanged${r.failed.length > 0 ? `, ${r.failed.length} failed (${r.failed.map((f) => f.name).join(', ')})` : ''}`),
      (err: Error) => logLine(`SIGHUP: ${err instanceof ApiError ? err.message : err.stack ?? String(err)}; the running configuration stays`),
    );
  };
  process.on('SIGHUP', onHangup);
  try {
    return await serveUntilSignal({
      name: 'serve',
      sidecar: {
        async listen() {
          await fleet.start(specs);
          api = await startControlApi(apiAddress, fleet);
          return api.address;
        },
        async shutdown(ms) {
          await fleet.shutdown(ms);
          await api?.close();
        },
      },
      endpoints,
      drainTimeoutMs,
      drainNotice: 'no longer accepting on any proxy',
      onStartError: (err) => {
        if (err instanceof ApiError) logLine(`cannot start: ${err.message}`);
      },
    });
  } finally {
    process.off('SIGHUP', onHangup);
  }
}
