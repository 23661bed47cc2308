/** Pieces the scenarios share: starting `sluice relay`, sockets, HTTP, metrics, timing. */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { spawnTracked, stderrTail, waitForLine } from '../../scenarios/harness/processes.js';
import type { Scope } from '../../scenarios/harness/scope.js';

export const MB = 1e6;
export const MiB = 1024 * 1024;
export const KiB = 1024;

export const now = (): number => performance.now();
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** A running `sluice relay`. */
export interface RunningRelay {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Port of `--metrics` (/metrics, /healthz) when asked for. */
  metricsPort: number | null;
  /** Port of `--agent` when asked for. */
  agentPort: number | null;
  alive(): boolean;
  /** Everything it wrote to stderr so far (the last 256 KiB). */
  stderr(): string;
}

const READY = /^sluice relay listening on (?:\[[^\]]+\]|[^:\s]+):(\d+)\s*$/;
const METRICS = /metrics on http:\/\/[^\s/]*:(\d+)\/metrics/;
const AGENT = /agent checks on \S*:(\d+)/;
const START_TIMEOUT_MS = 10_000;

/**
 * Starts `sluice relay --listen 127.0.0.1:0 --target 127.0.0.1:TARGET ...args`; with `metrics` /
 * `agent`, also `--metrics 127.0.0.1:0` / `--agent 127.0.0.1:0`, whose real ports are read from
 * the log lines on stderr. Resolves once the ready line is on stdout.
 */
export async function startRelay(scope: Scope, sluice: string[], targetPort: number, args: string[], opts: { metrics?: boolean; agent?: boolean } = {}): Promise<RunningRelay> {
  const argv = [...sluice, 'relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, ...args];
  if (opts.metrics) argv.push('--metrics', '127.0.0.1:0');
  if (opts.agent) argv.push('--agent', '127.0.0.1:0');
  const child = scope.child(spawnTracked(argv[0]!, argv.slice(1)));
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString('utf8')).slice(-256 * KiB);
  });
  const ready = await waitForLine(child, READY, START_TIMEOUT_MS, '"sluice relay listening on HOST:PORT"');
  const fromStderr = async (pattern: RegExp, what: string): Promise<number> => {
    const deadline = now() + START_TIMEOUT_MS;
    for (;;) {
      const m = pattern.exec(err);
      if (m) return Number(m[1]);
      if (child.exitCode !== null || now() > deadline) throw new Error(`sluice relay: no "${what}" line on stderr: ${stderrTail(child)}`);
      await delay(10);
    }
  };
  return {
    child,
    pid: child.pid!,
    port: Number(ready[1]),
    metricsPort: opts.metrics ? await fromStderr(METRICS, 'metrics on http://HOST:PORT/metrics') : null,
    agentPort: opts.agent ? await fromStderr(AGENT, 'agent checks on HOST:PORT') : null,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => err,
  };
}

/** Listens on 127.0.0.1:0 and resolves with the port. */
export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Connects to 127.0.0.1:port (tracked by `scope`); rejects on error or after `timeoutMs`. */
export function connect(scope: Scope, port: number, timeoutMs = 5000, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = scope.socket(net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false }));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to 127.0.0.1:${port} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Writes `payload` in `sliceBytes` slices, honouring write() === false, then ends; resolves with
 * the time (performance.now) of 'finish': every byte handed to the kernel.
 */
export function writeAllAndEnd(socket: net.Socket, payload: Buffer, sliceBytes = 64 * KiB): Promise<number> {
  return new Promise((resolve, reject) => {
    let offset = 0;
    const onError = (e: Error): void => reject(e);
    socket.once('error', onError);
    socket.once('close', () => reject(new Error(`socket closed after ${offset} of ${payload.length} bytes were written`)));
    socket.once('finish', () => {
      socket.off('error', onError);
      resolve(now());
    });
    const write = (): void => {
      while (offset < payload.length) {
        const slice = payload.subarray(offset, offset + sliceBytes);
        offset += slice.length;
        if (!socket.write(slice)) return;
      }
      socket.off('drain', write);
      socket.end();
    };
    socket.on('drain', write);
    write();
  });
}

/** GET http://127.0.0.1:port/path; a fresh connection per request. */
export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${port}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Prometheus text: the sum of every sample of `name` (all label sets), and each sample by labels. */
export function metricSamples(text: string, name: string): { sum: number; byLabels: Record<string, number> } {
  const byLabels: Record<string, number> = {};
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const value = Number(m[3]);
    byLabels[m[2] ?? ''] = value;
    sum += value;
  }
  return { sum, byLabels };
}

/** Fetches /metrics and returns the summed samples of `name`. */
export async function metric(port: number, name: string): Promise<number> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  return metricSamples(body, name).sum;
}

/** Resolves when `ready()` holds, polling every `everyMs`; rejects with `what` after `timeoutMs`. */
export async function until(ready: () => boolean, what: string, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!ready()) {
    if (now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

/** How a socket's life ended, and when (performance.now). */
export interface SocketEnd {
  at: number;
  /** 'end' (FIN received), 'error' (with code) or 'close' (closed without either). */
  how: 'end' | 'error' | 'close';
  code?: string;
}

/** Resolves at the first sign the peer closed: FIN ('end'), an error (e.g. ECONNRESET), or 'close'. */
export function socketEnd(socket: net.Socket): Promise<SocketEnd> {
  return new Promise((resolve) => {
    socket.once('end', () => resolve({ at: now(), how: 'end' }));
    socket.once('error', (e: NodeJS.ErrnoException) => resolve({ at: now(), how: 'error', code: e.code ?? e.message }));
    socket.once('close', () => resolve({ at: now(), how: 'close' }));
  });
}

/** Resolves with what arrived once at least `bytes` bytes did; rejects on end, error or timeout first. */
export function readExactly(socket: net.Socket, bytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => finish(new Error(`got ${got} of ${bytes} bytes within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= bytes) finish(null);
    };
    const onEnd = (): void => finish(new Error(`connection ended after ${got} of ${bytes} bytes`));
    const onError = (e: Error): void => finish(new Error(`connection failed after ${got} of ${bytes} bytes: ${e.message}`));
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}
