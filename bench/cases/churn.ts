/**
 * Connection churn: a new connection for every request, as HTTP/1.0-style clients, PHP and
 * health checkers do. redis-benchmark `-t ping_inline -k 0` against redis-server when both are
 * installed, else a built-in client that connects, sends one line, waits for its echo and closes,
 * against the built-in echo server. What is measured is what a connection costs the subject from
 * accept to close (accept, connect onward, relay a few bytes, tear down, the access-log line).
 */
import net from 'node:net';
import { openRedisCase } from './redis-case.js';
import { performance } from 'node:perf_hooks';
import { ServerHandle } from '../servers/server-handle.js';
import type { Tools } from '../tools.js';
import type { BenchCase, CaseServer } from './types.js';
import { cpuMetric, withCpu } from './with-cpu.js';

/** What redis-benchmark's PING_INLINE sends. */
const REQUEST = Buffer.from('PING\r\n');
const OMIT_SECONDS = 1;

export interface ChurnSettings {
  /** Connections (clients) at once, each doing connect-request-close in a loop. */
  connections: number;
  /** redis-benchmark -n. */
  redisRequests: number;
  /** The built-in client runs this long after a second's warm-up. */
  seconds: number;
}

export function churnCase(settings: ChurnSettings, tools: Tools): BenchCase {
  const id = `churn-${settings.connections}`;
  const redis = tools.redisServer.path && tools.redisBenchmark.path ? { server: tools.redisServer.path, bench: tools.redisBenchmark.path } : null;
  const label = `New connection per request, ${settings.connections} clients`;
  return {
    id,
    title: label,
    tool: redis
      ? `redis-benchmark ${tools.redisBenchmark.version} -t ping_inline -c ${settings.connections} -k 0 -n ${settings.redisRequests}, redis-server ${tools.redisServer.version}`
      : `built-in connect-request-close client, ${settings.seconds} s after ${OMIT_SECONDS} s warm-up, echo server`,
    measuresAccessLog: true,
    measuresConnectionCost: true,
    metrics: [{ id, label, unit: 'req/s', better: 'higher', digits: 0 }, cpuMetric(id, label, 'CPU µs/conn', 1)],
    open: () => (redis ? openRedis(id, redis, settings) : openEcho(id, settings)),
  };
}

function openRedis(id: string, bins: { server: string; bench: string }, settings: ChurnSettings): Promise<CaseServer> {
  return openRedisCase(id, bins, {
    // Every request is a new connection: let redis take them as fast as they come.
    serverArgs: ['--tcp-backlog', '511', '--maxclients', '10000'],
    test: 'PING_INLINE',
    benchArgs: ['-c', String(settings.connections), '-k', '0'],
    requests: settings.redisRequests,
    timeoutMs: 180_000,
  });
}

async function openEcho(id: string, settings: ChurnSettings): Promise<CaseServer> {
  const echo = await ServerHandle.start('echo');
  return {
    target: { host: '127.0.0.1', port: echo.port },
    measure: (subject) =>
      withCpu(subject, id, 1e6, async () => {
        const client = churnClient(subject.address, settings.connections);
        // The first second (a fresh relay's warm-up) is left out, as iperf3 -O does.
        await new Promise((r) => setTimeout(r, OMIT_SECONDS * 1000));
        const skipped = client.completed;
        const started = performance.now();
        await new Promise((r) => setTimeout(r, settings.seconds * 1000));
        const done = client.completed - skipped;
        const elapsed = (performance.now() - started) / 1000;
        await client.stop();
        if (client.failed) throw client.failed;
        if (done === 0) throw new Error('no request came back');
        return { values: { [id]: done / elapsed }, units: client.completed };
      }),
    close: () => echo.close(),
  };
}

/** `connections` loops of connect, write one request, read its echo, close; until stopped. */
export function churnClient(address: { host: string; port: number }, connections: number): { readonly completed: number; readonly failed: Error | null; stop(): Promise<void> } {
  let completed = 0;
  let failed: Error | null = null;
  let stopped = false;
  let running = 0;
  let allStopped: () => void = () => {};
  const one = (): void => {
    if (stopped || failed) {
      running -= 1;
      if (running === 0) allStopped();
      return;
    }
    const socket = net.connect({ port: address.port, host: address.host, noDelay: true });
    let owed = REQUEST.length;
    socket.once('connect', () => socket.write(REQUEST));
    socket.on('data', (chunk: Buffer) => {
      owed -= chunk.length;
      if (owed > 0) return;
      completed += 1;
      socket.destroy();
    });
    socket.on('error', (err) => {
      failed ??= err;
    });
    socket.once('close', one);
  };
  for (let i = 0; i < connections; i++) {
    running += 1;
    one();
  }
  return {
    get completed() {
      return completed;
    },
    get failed() {
      return failed;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        stopped = true;
        allStopped = resolve;
        if (running === 0) resolve();
      }),
  };
}
