import { freePort, runToCompletion, spawnTracked, stopProcess, waitForListening } from '../../scenarios/harness/processes.js';
import type { CaseServer } from './types.js';
import { withCpu } from './with-cpu.js';

/** How a case drives redis-benchmark against a fresh redis-server. */
export interface RedisCaseOptions {
  /** redis-server flags beyond the common ones (port, bind, no persistence). */
  serverArgs?: readonly string[];
  /** redis-benchmark's test (`-t`), as its CSV names it: `SET`, `PING_INLINE`. */
  test: string;
  /** redis-benchmark flags beyond host, port, -n, -t and --csv (connections, keep-alive). */
  benchArgs: readonly string[];
  requests: number;
  timeoutMs: number;
}

/** A redis-server for one case; each measurement runs redis-benchmark through the subject and reads its CSV row. */
export async function openRedisCase(id: string, bins: { server: string; bench: string }, o: RedisCaseOptions): Promise<CaseServer> {
  const port = await freePort();
  const server = spawnTracked(bins.server, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
    ...(o.serverArgs ?? []),
  ]);
  await waitForListening(server, port, 5000);
  return {
    target: { host: '127.0.0.1', port },
    measure: (subject) =>
      withCpu(subject, id, 1e6, async () => {
        const args = ['-h', subject.address.host, '-p', String(subject.address.port), ...o.benchArgs, '-n', String(o.requests), '-t', o.test.toLowerCase(), '--csv'];
        const row = redisBenchmarkRow(await runToCompletion(bins.bench, args, o.timeoutMs), o.test);
        return { values: { [id]: row.requestsPerS }, detail: { avgLatencyMs: row.avgLatencyMs, p99LatencyMs: row.p99LatencyMs }, units: o.requests };
      }),
    close: () => stopProcess(server),
  };
}

/**
 * The figures of one test from `redis-benchmark --csv` output: `"SET","45913.68","0.567",...` after
 * a header line, as requests per second, average and p99 latency in ms.
 */
export function redisBenchmarkRow(out: string, test: string): { requestsPerS: number; avgLatencyMs: number | undefined; p99LatencyMs: number | undefined } {
  const row = out.split('\n').find((line) => line.startsWith(`"${test}"`));
  const cells = row?.split(',').map((c) => Number(c.replace(/"/g, '')));
  if (!cells || !Number.isFinite(cells[1])) throw new Error(`redis-benchmark: no ${test} row in ${JSON.stringify(out.slice(-300))}`);
  return { requestsPerS: cells[1]!, avgLatencyMs: cells[2], p99LatencyMs: cells[6] };
}
