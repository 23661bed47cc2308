/**
 * HAProxy in front of sluice instances, for the adaptive check: mode tcp, roundrobin, an agent
 * check on each server (the configuration of bench/haproxy-admin.ts, as the brief's server lines),
 * and an admin socket to read the servers' state (for diagnosis only: the check itself counts
 * connections at the targets).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { adminCommand, haproxyConfig, parseStat, type HaproxyServer, type ServerStat } from '../../scenarios/harness/haproxy.js';
import { freePort } from '../../scenarios/harness/processes.js';
import { startOnPort } from '../subjects/launch.js';
import type { Scope } from '../../scenarios/harness/scope.js';

/** The haproxy binary ($SLUICE_CHECKS_HAPROXY, else on PATH or where Debian puts it), or why there is none. */
export function findHaproxy(): { path: string } | { missing: string } {
  const forced = process.env.SLUICE_CHECKS_HAPROXY;
  if (forced !== undefined) return existsSync(forced) ? { path: forced } : { missing: `SLUICE_CHECKS_HAPROXY=${forced} does not exist` };
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const found = dirs.filter((d) => d.startsWith('/')).map((d) => join(d, 'haproxy')).find((p) => existsSync(p));
  return found ? { path: found } : { missing: 'haproxy is not installed (bash bench/install-tools.sh installs it)' };
}

export interface Balancer {
  port: number;
  stats(): Promise<Record<string, ServerStat>>;
}

/** Starts haproxy in the foreground (-db), owned by `scope`; resolves once it listens. */
export async function startBalancer(scope: Scope, haproxyPath: string, servers: HaproxyServer[], agentInterMs: number): Promise<Balancer> {
  const dir = scope.tempDir('haproxy');
  const statsSocket = join(dir, 'admin.sock');
  // A port freed just before haproxy binds it can be taken in between: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const file = join(dir, `haproxy-${port}.cfg`);
    await writeFile(file, haproxyConfig({ port, statsSocket, servers, agentInterMs }));
    try {
      scope.child(await startOnPort([haproxyPath, '-db', '-f', file], port, 'haproxy'));
      return { port, stats: async () => parseStat(await adminCommand(statsSocket, 'show stat')) };
    } catch (err) {
      if (attempt >= 3 || !/cannot bind|Address already in use/i.test((err as Error).message)) throw err;
    }
  }
}
