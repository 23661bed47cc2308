import { stderrAccessLog, type LogFormat } from '../relay/access-log.js';
import type { SidecarConnectionOptions } from '../relay/connection-table.js';
import { CidrList } from '../net/cidr.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './parse.js';
import { formatDuration, formatSize } from '../config/units.js';
import { CONNECTION_DEFAULTS, RELAY_DEFAULTS } from '../relay/defaults.js';

const D = CONNECTION_DEFAULTS;

/** Flags every proxying command shares, with the library's defaults (CONNECTION_DEFAULTS). */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'window', kind: 'size', default: formatSize(D.windowBytes), min: 1, max: 2 ** 32 - 1, help: 'bytes allowed to wait for the slow side, per direction, before the other side is paused' },
  { name: 'max-conns', kind: 'count', default: String(D.maxConns), help: 'most connections to the target at once; extra clients wait in a queue (0 = no limit)' },
  { name: 'max-queue', kind: 'count', default: String(D.maxQueue), help: 'most clients waiting for a slot; past it new clients are closed' },
  { name: 'queue-timeout', kind: 'duration', default: formatDuration(D.queueTimeoutMs), min: 1, help: 'how long a client may wait for a slot before it is closed' },
  { name: 'connect-timeout', kind: 'duration', default: formatDuration(D.connectTimeoutMs), min: 1, help: 'give up connecting onward after this long and close the client (the target; on tunnel-client the link dial and its TLS handshake)' },
  { name: 'idle-timeout', kind: 'duration', default: formatDuration(D.idleTimeoutMs), help: 'close a connection after this long with no bytes either way, queued time included (0 = never)' },
  { name: 'half-close-timeout', kind: 'duration', default: formatDuration(D.halfCloseTimeoutMs), help: 'after one side ends its half (FIN), how long the other may take to finish before both are closed (0 = no limit)' },
  { name: 'drain-timeout', kind: 'duration', default: formatDuration(D.drainTimeoutMs), help: 'on SIGTERM/SIGINT, how long open connections may finish before they are reset' },
  { name: 'accept-proxy', kind: 'flag', help: "every client connection must start with a PROXY protocol header (v1 or v2); its addresses are the client's from then on" },
  { name: 'accept-proxy-from', kind: 'string', placeholder: 'CIDR[,CIDR...]', help: 'only these sources may send a PROXY header (IPv4/IPv6 prefixes, unix); others are closed; implies --accept-proxy' },
  { name: 'proxy-header-timeout', kind: 'duration', default: formatDuration(D.proxyHeaderTimeoutMs), min: 1, help: 'the whole PROXY header must arrive within this long, or the connection is closed' },
  { name: 'send-proxy', kind: 'choice', choices: ['v1', 'v2'], help: "write a PROXY protocol header with the original client's addresses at the start of each connection to the target" },
  { name: 'metrics', kind: 'address', help: 'serve /metrics (Prometheus), /healthz, /connections and the live page (/) on this HOST:PORT; they show client addresses, so keep it private' },
  { name: 'log', kind: 'choice', choices: ['text', 'json'], default: 'text', help: 'access log format on stderr, one line per finished connection' },
  { name: 'quiet', kind: 'flag', help: 'no access log' },
];

/** The connection limits, PROXY protocol and access log from COMMON_OPTIONS, as every sidecar takes them. */
export type ConnectionSettings = Required<
  Pick<SidecarConnectionOptions, 'maxConns' | 'maxQueue' | 'queueTimeoutMs' | 'connectTimeoutMs' | 'idleTimeoutMs' | 'halfCloseTimeoutMs' | 'acceptProxy' | 'proxyHeaderTimeoutMs'>
> &
  Pick<SidecarConnectionOptions, 'onAccessLog' | 'acceptProxyFrom' | 'sendProxy'>;

export function connectionSettings(o: ParsedOptions): ConnectionSettings {
  const format = o.log as LogFormat;
  const acceptProxyFrom = o['accept-proxy-from'] as string | undefined;
  if (acceptProxyFrom !== undefined) {
    try {
      new CidrList(acceptProxyFrom);
    } catch (err) {
      throw new UsageError(`--accept-proxy-from: ${(err as Error).message}`);
    }
  }
  return {
    acceptProxy: o['accept-proxy'] === true,
    ...(acceptProxyFrom !== undefined ? { acceptProxyFrom } : {}),
    proxyHeaderTimeoutMs: o['proxy-header-timeout'] as number,
    ...(o['send-proxy'] !== undefined ? { sendProxy: o['send-proxy'] as 'v1' | 'v2' } : {}),
    maxConns: o['max-conns'] as number,
    maxQueue: o['max-queue'] as number,
    queueTimeoutMs: o['queue-timeout'] as number,
    connectTimeoutMs: o['connect-timeout'] as number,
    idleTimeoutMs: o['idle-timeout'] as number,
    halfCloseTimeoutMs: o['half-close-timeout'] as number,
    onAccessLog: o.quiet === true ? undefined : stderrAccessLog(format),
  };
}

/** Flags only the relay has: its pressure signals, memory budget, rate and timeouts the tunnel does not take. */
export const RELAY_ONLY_OPTIONS: OptionSpec[] = [
  { name: 'connect-retry', kind: 'duration', default: formatDuration(RELAY_DEFAULTS.connectRetryMs), help: 'retry a refused connect with backoff for this long (a target restarting), never past --connect-timeout (0 = no retry)' },
  { name: 'memory-budget', kind: 'size', default: formatSize(RELAY_DEFAULTS.memoryBudgetBytes), min: 64 * 1024, help: 'cap on all buffered bytes: windows shrink as it fills, new clients are turned away at 95%' },
  { name: 'adaptive-concurrency', kind: 'flag', help: 'adapt the limit on target connections to the target\'s latency (Gradient2); --max-conns caps it' },
  { name: 'shed-at', kind: 'number', default: String(RELAY_DEFAULTS.shedAt), min: 0.05, max: 1, help: 'pressure (0.05..1) from which /healthz answers 503 and the agent weight falls' },
  { name: 'agent', kind: 'address', help: 'answer HAProxy agent checks on this HOST:PORT (weight N%, drain, up)' },
  { name: 'rate', kind: 'size', default: formatSize(RELAY_DEFAULTS.rateBytesPerS), help: 'bytes per second per direction per connection (token bucket; 0 = unlimited)' },
];
