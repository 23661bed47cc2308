/**
 * Every process the bench, the checks and the scenarios start goes through here, so that all of
 * them (and their forks: socat forks per connection) are killed at the end, on error, and on
 * Ctrl-C.
 */
import { spawn, fork, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

const live = new Set<ChildProcess>();
const STDERR_TAIL_BYTES = 4096;

/** The last few KiB a process wrote to stderr, for error messages. */
const stderrTails = new WeakMap<ChildProcess, string>();

let exitHookInstalled = false;

function track(child: ChildProcess): ChildProcess {
  // Detached children outlive us unless killed: at our exit, however it comes, they go too.
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killAllSync);
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stderr?.on('data', (chunk: Buffer) => {
    const tail = (stderrTails.get(child) ?? '') + chunk.toString('utf8');
    stderrTails.set(child, tail.slice(-STDERR_TAIL_BYTES));
  });
  // An unread pipe would block a chatty child once the pipe buffer fills.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/**
 * Spawns `cmd` in its own process group (detached) so stopping it also stops whatever it forked.
 */
export function spawnTracked(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  return track(child);
}

/** Forks a Node module with an IPC channel, tracked like any other child. */
export function forkTracked(modulePath: string, args: readonly string[]): ChildProcess {
  const child = fork(modulePath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
  return track(child);
}

export function stderrTail(child: ChildProcess): string {
  return (stderrTails.get(child) ?? '').trim();
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the process group, SIGKILL if it has not exited after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    // The leader is gone but forks may not be.
    signalGroup(child, 'SIGKILL');
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // socat's forked children may outlive the listener.
  signalGroup(child, 'SIGKILL');
}

/** Synchronous: safe from an 'exit' handler. */
export function killAllSync(): void {
  for (const child of live) signalGroup(child, 'SIGKILL');
  live.clear();
}

let handlersInstalled = false;

/** Makes SIGINT, SIGTERM and SIGHUP exit the bench (killing every tracked process on the way out, as any exit does). */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} process(es)\n`);
      killAllSync();
      process.exit(code);
    });
  }
}

/** Resolves with the first stdout line matching `pattern`; rejects if the child exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what = `a line matching ${pattern}`): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const match = line.match(pattern);
        if (match) {
          done();
          resolve(match);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`exited (${code ?? signal}) before printing ${what}: ${stderrTail(child) || '(no stderr)'}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`did not print ${what} within ${timeoutMs} ms: ${stderrTail(child) || '(no stderr)'}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A port that was free a moment ago, for tools that cannot listen on port 0 and report it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function isListening(port: number): Promise<boolean> {
  const LISTEN = '0A';
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== LISTEN) continue;
      const localPort = parseInt(fields[1]!.split(':')[1]!, 16);
      if (localPort === port) return true;
    }
  }
  return false;
}

/**
 * Waits until something listens on `port`. Reads /proc/net/tcp instead of probing with a
 * connection, because a probe would be forwarded to the case's server (iperf3 counts it as a
 * failed test, the slow consumer would take it for the producer).
 */
export async function waitForListening(child: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening on ${port}: ${stderrTail(child) || '(no stderr)'}`);
    }
    if (await isListening(port)) return;
    if (Date.now() > deadline) throw new Error(`not listening on ${port} after ${timeoutMs} ms: ${stderrTail(child) || '(no stderr)'}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs a command to completion and returns its stdout; rejects on a non-zero exit. */
export function runToCompletion(cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, args);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      void stopProcess(child, 500);
      reject(new Error(`${cmd} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(`${cmd} exited ${code ?? signal}: ${stderrTail(child) || out.slice(-500)}`), { stdout: out }));
    });
  });
}
