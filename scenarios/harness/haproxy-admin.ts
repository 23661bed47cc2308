/**
 * The parts of driving a real HAProxy that the adaptive check (bench/checks) and the end-to-end
 * tests (test/e2e) share: the configuration they run, and reading server state from the admin
 * socket.
 *
 * Each server line is `weight 100 agent-check agent-port N agent-inter 200ms` (HAProxy 2.6
 * configuration manual, 5.2: agent-check, agent-port, agent-inter). `weight 100` because HAProxy
 * applies an agent's "N%" to the configured weight with integer division: at the default weight 1
 * anything under 100% is 0. There is no regular `check`: its TCP probes would land on the servers
 * under test. Only loopback addresses are ever used.
 */
import { connect } from 'node:net';

/** One backend server line. */
export interface HaproxyServer {
  name: string;
  /** Where HAProxy sends client connections (127.0.0.1). */
  port: number;
  /** Agent-check port on 127.0.0.1; no agent check when absent. */
  agentPort?: number;
  /** Configured weight; default 100 (see the module comment). */
  weight?: number;
}

/** What haproxyConfig writes. */
export interface HaproxyConfigOptions {
  servers: HaproxyServer[];
  /** Where the frontend listens on 127.0.0.1. */
  port: number;
  /** Path of the admin (stats) socket. */
  statsSocket: string;
  /** agent-inter; default 200 ms. */
  agentInterMs?: number;
  /** Default 'roundrobin'. */
  balance?: string;
}

/** One server's line of `show stat`. */
export interface ServerStat {
  name: string;
  /** e.g. "no check", "UP", "DRAIN (agent)", "MAINT". */
  status: string;
  /** Effective weight (configured weight x agent percentage). */
  weight: number;
  /** Connections HAProxy has sent to it so far (stot). */
  sessionsTotal: number;
  /** Outcome of the last agent check: "L7OK" (a health word such as "up"), "CHECKED" (no health word, e.g. "drain"), "INI" before the first, or a failure. */
  agentStatus: string;
  /** HAProxy's description of it, e.g. "via agent : up". */
  agentDesc: string;
}

/** The configuration text: mode tcp, a frontend on 127.0.0.1:port, one backend `be` of these servers. */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const inter = options.agentInterMs ?? 200;
  const servers = options.servers.map((s) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(s.name)) throw new RangeError(`bad server name "${s.name}"`);
    const agent = s.agentPort === undefined ? '' : ` agent-check agent-addr 127.0.0.1 agent-port ${s.agentPort} agent-inter ${inter}ms`;
    return `  server ${s.name} 127.0.0.1:${s.port} weight ${s.weight ?? 100}${agent}`;
  });
  return [
    'global',
    `  stats socket ${options.statsSocket} mode 600 level admin`,
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend fe',
    `  bind 127.0.0.1:${options.port}`,
    '  default_backend be',
    'backend be',
    `  balance ${options.balance ?? 'roundrobin'}`,
    ...servers,
    '',
  ].join('\n');
}

/** Sends one command to the admin socket and resolves with the whole answer. */
export function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.once('end', () => resolve(out));
    s.once('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error(`admin socket: no answer to "${command}"`)));
    s.end(`${command}\n`);
  });
}

/** Parses `show stat` CSV into the backend's servers by name. */
export function parseStat(csv: string): Record<string, ServerStat> {
  const lines = csv.split('\n').filter((l) => l.length > 0);
  const header = lines[0]?.replace(/^# /, '').split(',');
  if (!header) throw new Error('empty show stat output');
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`show stat has no "${name}" column`);
    return i;
  };
  const [px, sv, status, weight, stot, agent, agentDesc] = ['pxname', 'svname', 'status', 'weight', 'stot', 'agent_status', 'agent_desc'].map(col) as number[] as [number, number, number, number, number, number, number];
  const out: Record<string, ServerStat> = {};
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[px] !== 'be' || f[sv] === 'BACKEND') continue;
    out[f[sv]!] = {
      name: f[sv]!,
      status: f[status]!,
      weight: Number(f[weight]),
      sessionsTotal: Number(f[stot]),
      agentStatus: f[agent] ?? '',
      agentDesc: f[agentDesc] ?? '',
    };
  }
  return out;
}
