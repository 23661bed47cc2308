/**
 * Everything one scenario opens: child processes, servers, sockets, timers and temp dirs. Its
 * owner (the checks' runner, a test's afterEach) closes the scope after the scenario, whether it
 * passed, failed or threw; temp dirs are also removed when the process exits early (Ctrl-C), and
 * processes are killed at any exit (processes.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stopProcess } from './processes.js';

const tempDirs = new Set<string>();
let exitHookInstalled = false;

function removeTempDirsSync(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export class Scope {
  private readonly children = new Set<ChildProcess>();
  private readonly servers = new Set<net.Server>();
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dirs = new Set<string>();

  /** A child started with `spawnTracked`; stopped (process group, SIGTERM then SIGKILL) on close. */
  child(child: ChildProcess): ChildProcess {
    this.children.add(child);
    return child;
  }

  /** A server; it and every connection it accepted are closed on close. */
  server(server: net.Server): net.Server {
    this.servers.add(server);
    server.on('connection', (socket: net.Socket) => this.socket(socket));
    return server;
  }

  /** A socket, destroyed on close; forgotten once closed so long floods do not pile up. */
  socket(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    // Errors are measured where they matter; an unhandled one must not kill the runner.
    socket.on('error', () => {});
    return socket;
  }

  interval(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
    return timer;
  }

  timeout(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(fn, ms);
    this.timers.add(timer);
    return timer;
  }

  /** A fresh directory under the OS temp dir, removed on close and at exit. */
  tempDir(prefix: string): string {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', removeTempDirsSync);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), `sluice-checks-${prefix}-`));
    this.dirs.add(dir);
    tempDirs.add(dir);
    return dir;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all([...this.servers].map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
    this.servers.clear();
    await Promise.all([...this.children].map((c) => stopProcess(c, 2000)));
    this.children.clear();
    for (const dir of this.dirs) {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    }
    this.dirs.clear();
  }
}

/** Runs `fn` with a scope of its own, closed when it returns or throws (one sub-check's processes, gone before the next). */
export async function scoped<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope();
  try {
    return await fn(scope);
  } finally {
    await scope.close();
  }
}
