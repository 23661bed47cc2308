/**
 * HAProxy in front of sluice instances, for the adaptive check: mode tcp, roundrobin, an agent
 * check on each server, and an admin socket to read the servers' state (for diagnosis only: the
 * check itself counts connections at the targets).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { freePort } from '../processes.js';
import { startOnPort } from '../subjects/launch.js';
import type { Scope } from './scope.js';

/** The haproxy binary ($SLUICE_CHECKS_HAPROXY, else on PATH or where Debian puts it), or why there is none. */
export function findHaproxy(): { path: string } | { missing: string } {
  const forced = process.env.SLUICE_CHECKS_HAPROXY;
  if (forced !== undefined) return existsSync(forced) ? { path: forced } : { missing: `SLUICE_CHECKS_HAPROXY=${forced} does not exist` };
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const found = dirs.filter((d) => d.startsWith('/')).map((d) => join(d, 'haproxy')).find((p) => existsSync(p));
  return found ? { path: found } : { missing: 'haproxy is not installed (bash bench/install-tools.sh installs it)' };
}

export interface BackendServer {
  name: string;
  port: number;
  agentPort: number;
}

/** One server's line of `show stat`. */
export interface ServerState {
  /** e.g. "UP", "DRAIN (agent)". */
  status: string;
  /** Effective weight: configured 100 times the agent's percentage. */
  weight: number;
  /** "L7OK" once the agent answered with a health word. */
  agentStatus: string;
  /** Connections HAProxy sent to it so far. */
  sessionsTotal: number;
}

export interface Balancer {
  port: number;
  stats(): Promise<Record<string, ServerState>>;
}

/**
 * The server lines are those of the brief: `server s 127.0.0.1:P weight 100 agent-check
 * agent-addr 127.0.0.1 agent-port A agent-inter 200ms`; no regular `check`, whose probes would
 * land on the relays under test.
 */
function config(port: number, statsSocket: string, servers: BackendServer[], agentInterMs: number): string {
  return [
    'global',
    `  stats socket ${statsSocket} mode 600 level admin`,
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} weight 100 agent-check agent-addr 127.0.0.1 agent-port ${s.agentPort} agent-inter ${agentInterMs}ms`),
    '',
  ].join('\n');
}

/** Starts haproxy in the foreground (-db), owned by `scope`; resolves once it listens. */
export async function startBalancer(scope: Scope, haproxyPath: string, servers: BackendServer[], agentInterMs: number): Promise<Balancer> {
  const dir = scope.tempDir('haproxy');
  const statsSocket = join(dir, 'admin.sock');
  // A port freed just before haproxy binds it can be taken in between: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const file = join(dir, `haproxy-${port}.cfg`);
    await writeFile(file, config(port, statsSocket, servers, agentInterMs));
    try {
      scope.child(await startOnPort([haproxyPath, '-db', '-f', file], port, 'haproxy'));
      return { port, stats: async () => parseStat(await adminCommand(statsSocket, 'show stat')) };
    } catch (err) {
      if (attempt >= 3 || !/cannot bind|Address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.once('end', () => resolve(out));
    s.once('error', reject);
    s.setTimeout(3000, () => s.destroy(new Error(`haproxy admin socket: no answer to "${command}"`)));
    s.end(`${command}\n`);
  });
}

function parseStat(csv: string): Record<string, ServerState> {
  const lines = csv.split('\n').filter((l) => l.length > 0);
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`haproxy show stat has no "${name}" column`);
    return i;
  };
  const [px, sv, status, weight, stot, agent] = ['pxname', 'svname', 'status', 'weight', 'stot', 'agent_status'].map(col) as [number, number, number, number, number, number];
  const out: Record<string, ServerState> = {};
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[px] !== 'be' || f[sv] === 'BACKEND') continue;
    out[f[sv]!] = { status: f[status]!, weight: Number(f[weight]), agentStatus: f[agent] ?? '', sessionsTotal: Number(f[stot]) };
  }
  return out;
}
