// A real HAProxy (Debian package `haproxy`, installed by .ci/deps) in front of servers a test
// controls, with agent checks, for end-to-end load-balancing tests.
//
//   const haproxy = await findHaproxy();      // null (reason logged) when it is not installed
//   if (!haproxy) this.skip();
//   const lb = await startHaproxy(haproxy, { servers: [{ name: 'a', port, agentPort }, ...] });
//   try {
//     await lb.waitFor((s) => s.a?.status === 'DRAIN (agent)', 'a drained');
//     ... connect to lb.port ...
//   } finally {
//     await lb.stop();                         // process gone, temp files removed
//   }
//
// The configuration and the admin-socket reading are bench/haproxy-admin.ts (the adaptive check
// runs the same); see there why each server line is what it is.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { adminCommand, haproxyConfig, parseStat, type HaproxyConfigOptions, type ServerStat } from '../../scenarios/harness/haproxy.js';

export { haproxyConfig, parseStat, type HaproxyServer, type ServerStat } from '../../scenarios/harness/haproxy.js';

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
  /** Everything haproxy wrote to stdout/stderr so far. */
  output(): string;
  /** Current server stats by name (from the admin socket). */
  stats(): Promise<Record<string, ServerStat>>;
  /** Polls stats until `ready` holds; throws with the last stats after `timeoutMs` (default 15 s). */
  waitFor(ready: (stats: Record<string, ServerStat>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, ServerStat>>;
  /** Kills the process (SIGTERM, then SIGKILL after 5 s) and removes its temp directory. */
  stop(): Promise<void>;
}

let found: Promise<Haproxy | null> | undefined;
let lastReason: string | undefined;

/** Why the last findHaproxy() returned null, if it did. */
export function haproxyUnavailableReason(): string | undefined {
  return lastReason;
}

/** Finds haproxy on PATH or in /usr/sbin (where Debian puts it); null with a logged reason if absent. */
export function findHaproxy(): Promise<Haproxy | null> {
  found ??= (async () => {
    const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
    const path = dirs.map((d) => join(d, 'haproxy')).find((p) => p.startsWith('/') && existsSync(p));
    if (!path) return unavailable('haproxy is not installed (Debian: apt-get install haproxy; .ci/deps does it)');
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
  console.log(`[haproxy] skipping: ${reason}`);
  return null;
}


/** Starts haproxy in the foreground (-db) with a generated config; resolves once its admin socket answers. */
export async function startHaproxy(haproxy: Haproxy, options: HaproxyOptions): Promise<RunningHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-haproxy-'));
  try {
    // A port freed just before haproxy binds it can be taken in between; try a few.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(haproxy, options, dir);
      } catch (err) {
        if (attempt >= 3 || !(err as Error).message.includes('cannot bind')) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(haproxy: Haproxy, options: HaproxyOptions, dir: string): Promise<RunningHaproxy> {
  const port = await freePort();
  const statsSocket = join(dir, 'admin.sock');
  const config = haproxyConfig({ ...options, port, statsSocket });
  const configPath = join(dir, 'haproxy.cfg');
  await writeFile(configPath, config);

  const child: ChildProcess = spawn(haproxy.path, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  let exitCode: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? -1;
      resolve();
    }),
  );
  child.once('error', (err) => (output += `spawn error: ${err.message}\n`));
  // If the test process dies first, don't leave haproxy behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (exitCode === null) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
        if (exitCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await rm(dir, { recursive: true, force: true });
    })());

  const stats = async (): Promise<Record<string, ServerStat>> => parseStat(await adminCommand(statsSocket, 'show stat'));

  // Ready when the admin socket answers (listeners are bound by then), or failed when it exits.
  for (let i = 0; ; i++) {
    if (exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited (${exitCode}) during startup: ${output.trim()}`);
    }
    try {
      await stats();
      break;
    } catch {
      if (i > 200) {
        await stop();
        throw new Error(`haproxy did not come up within 10 s: ${output.trim()}`);
      }
      await delay(50);
    }
  }

  return {
    port,
    config,
    pid: child.pid!,
    output: () => output,
    stats,
    async waitFor(ready, what, timeoutMs = 15_000) {
      const deadline = performance.now() + timeoutMs;
      let last: Record<string, ServerStat> = {};
      for (;;) {
        last = await stats();
        if (ready(last)) return last;
        if (performance.now() > deadline) {
          throw new Error(`haproxy: gave up waiting for ${what}; last stats: ${JSON.stringify(last)}`);
        }
        await delay(25);
      }
    },
    stop,
  };
}



async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(err) : resolve(`${stdout}${stderr}`)));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
