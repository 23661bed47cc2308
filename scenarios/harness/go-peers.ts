// Independent yamux peers for interop tests: Go programs built on hashicorp/yamux (Debian's
// golang-github-hashicorp-yamux-dev, under /usr/share/gocode), compiled on demand and cached.
//
//   const peers = await buildGoPeers();            // null (reason logged) when Go/yamux are missing
//   if (!peers) this.skip();
//   const server = await startEchoServer(peers.echoServer);
//   try {
//     const r = await runClient(peers.client, server.address, { streams: 8, bytes: 4 << 20 });
//   } finally {
//     await server.stop();
//   }
//
// Only loopback addresses are ever used; the Go programs refuse anything else.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, constants, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where Debian's Go packages (including hashicorp/yamux) live. */
export const DEBIAN_GOPATH = '/usr/share/gocode';
const YAMUX_IMPORT_DIR = join(DEBIAN_GOPATH, 'src/github.com/hashicorp/yamux');
const PROGRAMS = { echoServer: 'yamux-echo-server', client: 'yamux-client', capture: 'capture' } as const;

export interface GoPeers {
  /** yamux server: echoes (or with --mode discard, drops) each stream, FIN after the peer's FIN. */
  echoServer: string;
  /** yamux client: N streams x M seeded bytes, sha256-compared echo, one JSON line. */
  client: string;
  /** Transcript recorder used by regen-transcript.ts. */
  capture: string;
}

/** Repository root: the nearest ancestor of this module holding package.json and scenarios/go. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scenarios/go'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('go-peers: cannot find the repository root');
    dir = parent;
  }
}

let lastReason: string | undefined;
/** Why the last buildGoPeers() returned null, if it did. */
export function goPeersUnavailableReason(): string | undefined {
  return lastReason;
}

let building: Promise<GoPeers | null> | undefined;

/**
 * Builds the Go peers (once per process; on disk once per version of their sources, Go and
 * yamux) into node_modules/.cache/sluice-go-peers/<hash>/ and returns their paths, or null with
 * a logged reason when Go or the yamux package is missing. A compile error throws.
 */
export function buildGoPeers(): Promise<GoPeers | null> {
  building ??= doBuild().catch((err: unknown) => {
    building = undefined; // let a later call try again
    throw err;
  });
  return building;
}

function goEnv(cacheRoot: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GO111MODULE: 'off', GOPATH: DEBIAN_GOPATH, GOFLAGS: '', CGO_ENABLED: '0' };
  // Go's own build cache (~/.cache/go-build) outlives `npm ci` and saves recompiling the
  // standard library; only without a home directory keep it beside our binaries.
  if (!env.GOCACHE && !env.HOME && !env.XDG_CACHE_HOME) env.GOCACHE = join(cacheRoot, 'go-build');
  return env;
}

function run(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          Object.assign(err, { stdout, stderr });
          reject(err);
        } else resolve({ stdout, stderr });
      },
    );
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out.sort();
}

function unavailable(reason: string): null {
  lastReason = reason;
  console.log(`[go-peers] Go yamux peers unavailable: ${reason}`);
  return null;
}

async function doBuild(): Promise<GoPeers | null> {
  const root = repoRoot();
  const goDir = join(root, 'scenarios/go');
  const cacheRoot = join(root, 'node_modules/.cache/sluice-go-peers');
  const env = goEnv(cacheRoot);

  let goVersion: string;
  try {
    goVersion = (await run('go', ['version'], { env, timeoutMs: 30_000 })).stdout.trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return unavailable(
      code === 'ENOENT'
        ? "'go' not found on PATH (Debian package golang-go; .ci/deps installs it)"
        : `'go version' failed: ${String((err as Error).message)}`,
    );
  }
  if (!existsSync(join(YAMUX_IMPORT_DIR, 'session.go'))) {
    return unavailable(
      `hashicorp/yamux not found at ${YAMUX_IMPORT_DIR} (Debian package golang-github-hashicorp-yamux-dev; .ci/deps installs it)`,
    );
  }

  // Key: our Go sources, the yamux sources and the Go version.
  const hash = createHash('sha256').update(goVersion).update('\0');
  for (const [base, files] of [
    [goDir, await listFiles(goDir)],
    [YAMUX_IMPORT_DIR, (await listFiles(YAMUX_IMPORT_DIR)).filter((f) => f.endsWith('.go'))],
  ] as const) {
    for (const f of files) {
      hash.update(relative(base, f)).update('\0').update(await readFile(f)).update('\0');
    }
  }
  const key = hash.digest('hex').slice(0, 16);
  const outDir = join(cacheRoot, key);
  const paths: GoPeers = {
    echoServer: join(outDir, PROGRAMS.echoServer),
    client: join(outDir, PROGRAMS.client),
    capture: join(outDir, PROGRAMS.capture),
  };

  const ready = async () => {
    try {
      await Promise.all(Object.values(paths).map((p) => access(p, constants.X_OK)));
      return true;
    } catch {
      return false;
    }
  };
  if (await ready()) return paths;

  // Build into a private directory, then move it into place: concurrent builders never see a
  // half-written binary.
  await mkdir(cacheRoot, { recursive: true });
  const tmpDir = join(cacheRoot, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmpDir, { recursive: true });
  const started = Date.now();
  try {
    // One invocation: yamux is compiled once for all programs; -o DIR/ names each after its dir.
    const programs = Object.values(PROGRAMS);
    try {
      await run('go', ['build', '-trimpath', '-o', tmpDir + '/', ...programs.map((p) => `./${p}`)], {
        cwd: goDir,
        env,
        timeoutMs: 300_000,
      });
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
      throw new Error(`go-peers: building ${programs.join(', ')} failed: ${stderr || (err as Error).message}`);
    }
    await rm(outDir, { recursive: true, force: true });
    try {
      await rename(tmpDir, outDir);
    } catch (err) {
      if (!(await ready())) throw err; // someone else won the race: fine if their build is complete
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
  console.log(`[go-peers] built Go yamux peers in ${Date.now() - started} ms (${goVersion}) -> ${outDir}`);

  // Drop builds of older sources.
  for (const entry of await readdir(cacheRoot)) {
    if (/^[0-9a-f]{16}$/.test(entry) && entry !== key) {
      await rm(join(cacheRoot, entry), { recursive: true, force: true });
    }
  }
  lastReason = undefined;
  return paths;
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface EchoServerOptions {
  /** Loopback address to listen on; default 127.0.0.1:0 (a free port). */
  listen?: string;
  /** 'echo' (default) sends every byte back; 'discard' drops them. Both FIN after the peer's FIN. */
  mode?: 'echo' | 'discard';
  /** yamux MaxStreamWindowSize in bytes (>= 262144); default yamux's 256 KiB. */
  window?: number;
  /** yamux keepalive (default on, every 30 s). */
  keepalive?: boolean;
  keepaliveIntervalMs?: number;
  /** Don't log yamux warnings (e.g. frames for closed streams) to the server's stderr. */
  quiet?: boolean;
  /** How long to wait for "listening on"; default 10 s. */
  readyTimeoutMs?: number;
}

export interface EchoServer {
  host: string;
  port: number;
  /** host:port, ready for runClient(). */
  address: string;
  pid: number;
  /** The server's stderr so far (last 64 KiB): yamux logs its warnings there. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

const STDERR_KEEP = 64 * 1024;

function keepTail(buf: string, more: string): string {
  const s = buf + more;
  return s.length > STDERR_KEEP ? s.slice(s.length - STDERR_KEEP) : s;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the child has exited and its stdio has closed. */
function whenClosed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (exited(child) && !child.stdout?.readable && !child.stderr?.readable) return resolve();
    child.once('close', () => resolve());
  });
}

async function killAndWait(child: ChildProcess, graceMs = 5_000): Promise<void> {
  const closed = whenClosed(child);
  if (!exited(child)) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut && !exited(child)) child.kill('SIGKILL');
  }
  await closed;
  child.removeAllListeners();
  child.stdout?.removeAllListeners();
  child.stderr?.removeAllListeners();
}

function goFlags(o: { window?: number; keepalive?: boolean; keepaliveIntervalMs?: number }): string[] {
  const args: string[] = [];
  if (o.window !== undefined) args.push(`-window=${o.window}`);
  if (o.keepalive !== undefined) args.push(`-keepalive=${o.keepalive}`);
  if (o.keepaliveIntervalMs !== undefined) args.push(`-keepalive-interval=${o.keepaliveIntervalMs}ms`);
  return args;
}

/** Starts the Go echo server and resolves once it prints "listening on HOST:PORT". */
export function startEchoServer(bin: string, opts: EchoServerOptions = {}): Promise<EchoServer> {
  const args = [`-listen=${opts.listen ?? '127.0.0.1:0'}`, `-mode=${opts.mode ?? 'echo'}`, ...goFlags(opts)];
  if (opts.quiet) args.push('-quiet');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr = keepTail(stderr, d)));
  child.stdout.setEncoding('utf8');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= killAndWait(child));

  return new Promise<EchoServer>((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`yamux-echo-server: ${why}; stderr: ${stderr.trim() || '(empty)'}`)));
    };
    const timer = setTimeout(() => fail('not ready in time'), opts.readyTimeoutMs ?? 10_000);
    child.once('error', (err) => fail(`spawn failed: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));
    child.stdout.on('data', (d: string) => {
      if (settled) return; // keep draining stdout, ignore it
      stdout += d;
      const m = /^listening on (.+):(\d+)\s*$/m.exec(stdout);
      if (!m) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      child.on('error', () => {}); // a late kill() error must not crash the test run
      const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
      const port = Number(m[2]);
      resolve({
        host,
        port,
        address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
        pid: child.pid!,
        stderr: () => stderr,
        stop,
      });
    });
  });
}

export interface ClientOptions {
  /** Streams to open (default 8). */
  streams?: number;
  /** Bytes per stream (default 4 MiB). */
  bytes?: number;
  /** Bytes per Stream.Write (default 64 KiB). */
  chunk?: number;
  /** PRNG seed; stream i sends math/rand bytes seeded with seed+i (default 1). */
  seed?: number;
  /** 'echo' (default): expect every byte back and sha256-compare. 'send': send, FIN, drain. */
  mode?: 'echo' | 'send';
  /** Session.Ping round trips before the streams start, reported as rttMs. */
  pings?: number;
  window?: number;
  keepalive?: boolean;
  keepaliveIntervalMs?: number;
  /** Send a GoAway before closing the session. */
  goAway?: boolean;
  /** In send mode, how long to wait for the peer's FIN (default 10 s). */
  lingerMs?: number;
  /** Overall deadline inside the Go client (default 120 s); the process is killed 15 s later. */
  timeoutMs?: number;
}

export interface ClientStreamResult {
  index: number;
  streamId: number;
  bytesSent: number;
  bytesReceived: number;
  sentSha256: string;
  receivedSha256: string;
  match: boolean;
  /** The peer's FIN arrived after all its data. */
  remoteClosed: boolean;
  durationMs: number;
  error?: string;
}

export interface ClientResult {
  ok: boolean;
  mode: 'echo' | 'send';
  addr: string;
  seed: number;
  window: number;
  rttMs: number[];
  streams: ClientStreamResult[];
  totals: {
    streams: number;
    matched: number;
    bytesSent: number;
    bytesReceived: number;
    durationMs: number;
    sendMiBps: number;
  };
  goAway: boolean;
  error?: string;
  /** Process exit code: 0 only if every stream succeeded. */
  exitCode: number | null;
  stderr: string;
}

/** Runs the Go client against addr and resolves with its parsed JSON result. */
export function runClient(bin: string, addr: string, opts: ClientOptions = {}): Promise<ClientResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const args = [
    `-addr=${addr}`,
    `-streams=${opts.streams ?? 8}`,
    `-bytes=${opts.bytes ?? 4 * 1024 * 1024}`,
    `-mode=${opts.mode ?? 'echo'}`,
    `-timeout=${timeoutMs}ms`,
    ...goFlags(opts),
  ];
  if (opts.chunk !== undefined) args.push(`-chunk=${opts.chunk}`);
  if (opts.seed !== undefined) args.push(`-seed=${opts.seed}`);
  if (opts.pings !== undefined) args.push(`-pings=${opts.pings}`);
  if (opts.goAway) args.push('-goaway');
  if (opts.lingerMs !== undefined) args.push(`-linger=${opts.lingerMs}ms`);

  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let spawnError: Error | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr = keepTail(stderr, d)));
    child.once('error', (err) => (spawnError = err));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      child.removeAllListeners();
      child.stdout.removeAllListeners();
      child.stderr.removeAllListeners();
      if (spawnError) return reject(new Error(`yamux-client: spawn failed: ${spawnError.message}`));
      const line = stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('{'))
        .pop();
      if (!line) {
        return reject(
          new Error(`yamux-client printed no result (code ${code}, signal ${signal}); stderr: ${stderr.trim() || '(empty)'}`),
        );
      }
      try {
        resolve({ ...(JSON.parse(line) as Omit<ClientResult, 'exitCode' | 'stderr'>), exitCode: code, stderr });
      } catch (err) {
        reject(new Error(`yamux-client printed bad JSON: ${(err as Error).message}: ${line.slice(0, 200)}`));
      }
    });
  });
}
