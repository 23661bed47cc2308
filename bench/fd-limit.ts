/**
 * The descriptor limit the idle-10k case needs: a relay holds two descriptors per connection
 * (client and target), the bench and the idle server one each. The bench raises its soft limit
 * to the hard one by running itself again under `ulimit -n` (children inherit it), and opens
 * as many connections as the limit allows a relay that keeps sluice's default reserve.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { defaultFdReserve } from '../proxy/net/fd-reserve.js';

const RELAUNCHED_ENV = 'SLUICE_BENCH_FD_RAISED';
/** Descriptors a subject holds besides its connections (listeners, stdio, epoll, pipes). */
const OVERHEAD_FDS = 64;

export interface FdLimits {
  soft: number;
  hard: number;
}

/** Soft and hard "Max open files" of this process (Infinity when unlimited). */
export function fdLimits(): FdLimits {
  const text = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const num = (s: string | undefined): number => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}

/**
 * When the soft limit is below the hard one, runs this bench again with the soft limit raised
 * and resolves with its exit code; resolves null when there is nothing to raise (or it already
 * was), and the caller goes on.
 */
export function relaunchWithRaisedLimit(log: (msg: string) => void): Promise<number> | null {
  const { soft, hard } = fdLimits();
  if (process.env[RELAUNCHED_ENV] || !(soft < hard)) return null;
  const to = Number.isFinite(hard) ? String(hard) : 'unlimited';
  log(`ulimit -n ${soft}: raising it to the hard limit (${to}) for the bench and everything it starts`);
  const child = spawn('sh', ['-c', `ulimit -n ${to} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [RELAUNCHED_ENV]: '1' },
  });
  // Ctrl-C reaches the child too (same process group); this one only waits for it.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** How many idle connections a relay can hold under `limit` keeping sluice's default reserve. */
export function idleConnectionsWithin(limit: number, wanted: number): number {
  if (!Number.isFinite(limit)) return wanted;
  return Math.max(1, Math.min(wanted, Math.floor((limit - defaultFdReserve(limit) - OVERHEAD_FDS) / 2)));
}
