/**
 * A real HAProxy (Debian package `haproxy`) in front of servers a scenario controls, with agent
 * checks: finding the binary, starting it with haproxy-admin.ts's configuration, reading its
 * servers' state.
 *
 *   const haproxy = await findHaproxy();      // null when not installed: haproxyUnavailableReason() says why
 *   const lb = await startHaproxy(scope, haproxy, { servers: [{ name: 'a', port, agentPort }, ...] });
 *   await lb.waitFor((s) => s.a?.status === 'DRAIN (agent)', 'a drained');
 *   ... connect to lb.port ...               // scope.close() (or lb.stop()) stops it and removes its files
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { adminCommand, haproxyConfig, parseStat, type HaproxyConfigOptions, type ServerStat } from './haproxy-admin.js';
import { freePort, spawnTracked, stderrTail, stopProcess } from './processes.js';
import type { Scope } from './scope.js';
import { delay, now } from './sockets.js';

/** An installed haproxy binary. */
export interface Haproxy {
  path: string;
  /** e.g. "2.6.12-1+deb12u4". */
  version: string;
}

/** What to run: the configuration but for the port and admin socket, which startHaproxy picks. */
export type HaproxyOptions = Omit<HaproxyConfigOptions, 'port' | 'statsSocket'>;

/** A running HAProxy. */
export interface RunningHaproxy {
  /** The frontend port on 127.0.0.1. */
  port: number;
  config: string;
  pid: number;
  /** Current server stats by name (from the admin socket). */
  stats(): Promise<Record<string, ServerStat>>;
  /** Polls stats until `ready` holds; throws with the last stats after `timeoutMs` (default 15 s). */
  waitFor(ready: (stats: Record<string, ServerStat>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, ServerStat>>;
  /** Stops it now (SIGTERM, then SIGKILL after 5 s) and removes its files; the scope would do it at its close. */
  stop(): Promise<void>;
}

let found: Promise<Haproxy | null> | undefined;
let lastReason: string | undefined;

/** Why the last findHaproxy() returned null, if it did. */
export function haproxyUnavailableReason(): string | undefined {
  return lastReason;
}

/**
 * Finds haproxy ($SLUICE_CHECKS_HAPROXY, else on PATH or in /usr/sbin, where Debian puts it) and
 * asks its version; null when there is none, with the reason in haproxyUnavailableReason().
 */
export function findHaproxy(): Promise<Haproxy | null> {
  found ??= (async () => {
    const forced = process.env.SLUICE_CHECKS_HAPROXY;
    const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
    const path = forced ?? dirs.filter((d) => d.startsWith('/')).map((d) => join(d, 'haproxy')).find((p) => existsSync(p));
    if (path === undefined) return unavailable('haproxy is not installed (Debian package haproxy: bash bench/install-tools.sh or .ci/deps installs it)');
    if (!existsSync(path)) return unavailable(`SLUICE_CHECKS_HAPROXY=${path} does not exist`);
    try {
      const out = await run(path, ['-v']);
      const m = /HAProxy version (\S+)/.exec(out);
      if (!m) return unavailable(`unexpected \`${path} -v\` output: ${out.slice(0, 200)}`);
      return { path, version: m[1]! };
    } catch (err) {
      return unavailable(`\`${path} -v\` failed: ${(err as Error).message}`);
    }
  })();
  return found;
}

function unavailable(reason: string): null {
  lastReason = reason;
  return null;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(err) : resolve(`${stdout}${stderr}`)));
  });
}

/** Starts haproxy in the foreground (-db) with a generated config, owned by `scope`; resolves once its admin socket answers (its listeners are bound by then). */
export async function startHaproxy(scope: Scope, haproxy: Haproxy, options: HaproxyOptions): Promise<RunningHaproxy> {
  const dir = scope.tempDir('haproxy');
  const statsSocket = join(dir, 'admin.sock');
  const stats = async (): Promise<Record<string, ServerStat>> => parseStat(await adminCommand(statsSocket, 'show stat'));
  // A port freed just before haproxy binds it can be taken in between: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = haproxyConfig({ ...options, port, statsSocket });
    const configPath = join(dir, `haproxy-${port}.cfg`);
    await writeFile(configPath, config);
    const child = scope.child(spawnTracked(haproxy.path, ['-db', '-f', configPath]));
    const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
    let failure: string | null = null;
    for (const deadline = now() + 10_000; ; await delay(50)) {
      if (exited()) {
        failure = `haproxy exited (${child.exitCode ?? child.signalCode}) during startup: ${stderrTail(child)}`;
        break;
      }
      if (await stats().then(() => true, () => false)) break;
      if (now() > deadline) {
        await stopProcess(child, 500);
        failure = `haproxy did not come up within 10 s: ${stderrTail(child)}`;
        break;
      }
    }
    if (failure === null) {
      let stopping: Promise<void> | undefined;
      return {
        port,
        config,
        pid: child.pid!,
        stats,
        async waitFor(ready, what, timeoutMs = 15_000) {
          const deadline = now() + timeoutMs;
          for (;;) {
            const last = await stats();
            if (ready(last)) return last;
            if (now() > deadline) throw new Error(`haproxy: gave up waiting for ${what}; last stats: ${JSON.stringify(last)}`);
            await delay(25);
          }
        },
        stop: () => (stopping ??= stopProcess(child, 5000).then(() => rm(dir, { recursive: true, force: true }))),
      };
    }
    if (attempt >= 3 || !/cannot bind|Address already in use/i.test(failure)) throw new Error(failure);
  }
}
