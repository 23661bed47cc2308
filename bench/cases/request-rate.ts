/**
 * Small request/response rate over 50 connections: redis-benchmark SET against redis-server
 * when installed (what is checked from outside the repo), else a built-in ping-pong against an
 * echo server with requests the size of a redis SET.
 */
import net from 'node:net';
import { openRedisCase } from './redis-case.js';
import { performance } from 'node:perf_hooks';
import { ServerHandle } from '../servers/server-handle.js';
import type { Tools } from '../tools.js';
import type { BenchCase, CaseServer } from './types.js';
import { cpuMetric, withCpu } from './with-cpu.js';

/** About what redis-benchmark sends for one SET with its default 3-byte value. */
const REQUEST_BYTES = 45;
const OMIT_SECONDS = 1;

export interface RequestRateSettings {
  connections: number;
  redisRequests: number;
  echoSeconds: number;
}

export function requestRateCase(settings: RequestRateSettings, tools: Tools): BenchCase {
  const id = `rr-${settings.connections}`;
  const redis = tools.redisServer.path && tools.redisBenchmark.path ? { server: tools.redisServer.path, bench: tools.redisBenchmark.path } : null;
  const label = redis ? `Redis SET, ${settings.connections} connections` : `Echo ${REQUEST_BYTES} B, ${settings.connections} connections`;
  return {
    id,
    title: label,
    tool: redis
      ? `redis-benchmark ${tools.redisBenchmark.version} -t set -c ${settings.connections} -n ${settings.redisRequests}, redis-server ${tools.redisServer.version}`
      : `built-in ping-pong, ${settings.echoSeconds} s after ${OMIT_SECONDS} s warm-up`,
    metrics: [{ id, label, unit: 'req/s', better: 'higher', digits: 0 }, cpuMetric(id, label, 'CPU µs/req', 1)],
    open: () => (redis ? openRedis(id, redis, settings) : openEcho(id, settings)),
  };
}

function openRedis(id: string, bins: { server: string; bench: string }, settings: RequestRateSettings): Promise<CaseServer> {
  return openRedisCase(id, bins, { test: 'SET', benchArgs: ['-c', String(settings.connections)], requests: settings.redisRequests, timeoutMs: 120_000 });
}

async function openEcho(id: string, settings: RequestRateSettings): Promise<CaseServer> {
  const echo = await ServerHandle.start('echo');
  const request = Buffer.alloc(REQUEST_BYTES, 0x61);
  return {
    target: { host: '127.0.0.1', port: echo.port },
    measure: (subject) =>
      withCpu(subject, id, 1e6, async () => {
        let stopped = false;
        let completed = 0;
        const sockets = Array.from({ length: settings.connections }, () => {
          const socket = net.connect({ port: subject.address.port, host: subject.address.host, noDelay: true });
          let owed = REQUEST_BYTES;
          socket.on('connect', () => socket.write(request));
          socket.on('data', (chunk: Buffer) => {
            owed -= chunk.length;
            if (owed > 0) return;
            completed += 1;
            owed = REQUEST_BYTES;
            if (!stopped) socket.write(request);
          });
          socket.on('error', () => {});
          return socket;
        });
        // The first second (a fresh relay's warm-up) is left out, as iperf3 -O does.
        await new Promise((r) => setTimeout(r, OMIT_SECONDS * 1000));
        const skipped = completed;
        const started = performance.now();
        await new Promise((r) => setTimeout(r, settings.echoSeconds * 1000));
        const done = completed - skipped;
        const elapsed = (performance.now() - started) / 1000;
        stopped = true;
        for (const s of sockets) s.destroy();
        if (done === 0) throw new Error('no request came back');
        return { values: { [id]: done / elapsed }, units: completed };
      }),
    close: () => echo.close(),
  };
}
