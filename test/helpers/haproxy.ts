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
// The config (haproxyConfig) is mode tcp, balance roundrobin, and on each server line
// `weight 100 agent-check agent-port N agent-inter 200ms` (HAProxy 2.6 configuration manual,
// 5.2: agent-check, agent-port, agent-inter). `weight 100` because HAProxy applies an agent's
// "N%" to the configured weight with integer division: at the default weight 1 anything under
// 100% is 0. There is no regular `check`: its TCP probes would land on the servers under test.
// Only loopback addresses are ever used.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** An installed haproxy binary. */
export interface Haproxy {
  path: string;
  /** e.g. "2.6.12-1+deb12u4". */
  version: string;
}

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

/** What to run. */
export interface HaproxyOptions {
  servers: HaproxyServer[];
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

/** The configuration text; see the module comment. */
export function haproxyConfig(options: HaproxyOptions & { port: number; statsSocket: string }): string {
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
