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
