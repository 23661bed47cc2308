/**
 * How much of the machine something other than the bench used while it measured. On 2 shared
 * cores another busy process (a test suite, a second bench) moves every figure; the ratios
 * survive a little of it, not a lot. Each sample records it and the report warns.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from '../scenarios/harness/proc-stats.js';

const CLOCK_TICKS_PER_SECOND = 100;

/** Above this share of the machine used by others, a measurement is flagged as noisy. */
export const NOISY_SHARE = 0.05;

interface Snapshot {
  at: number;
  /** user + nice + system over all CPUs: what processes used (softirq, charged to no one, is left out). */
  processSeconds: number;
  stealSeconds: number;
  oursSeconds: number;
}

async function snapshot(): Promise<Snapshot> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return {
    at: performance.now(),
    processSeconds: (user! + nice! + system!) / CLOCK_TICKS_PER_SECOND,
    stealSeconds: (steal ?? 0) / CLOCK_TICKS_PER_SECOND,
    // This process and everything it started (subjects, servers, load tools, reaped or not).
    oursSeconds: await cpuSeconds([process.pid]),
  };
}

export interface Noise {
  /** Share of all cores used by processes outside the bench, 0..1. */
  otherCpu: number;
  /** Share of all cores the hypervisor took away, 0..1. */
  steal: number;
}

export class NoiseMeter {
  private first: Snapshot | null = null;

  async start(): Promise<void> {
    this.first = await snapshot();
  }

  async stop(): Promise<Noise> {
    const last = await snapshot();
    const first = this.first ?? last;
    const capacity = (Math.max(1, last.at - first.at) / 1000) * os.cpus().length;
    const other = last.processSeconds - first.processSeconds - (last.oursSeconds - first.oursSeconds);
    return {
      otherCpu: Math.max(0, other / capacity),
      steal: Math.max(0, (last.stealSeconds - first.stealSeconds) / capacity),
    };
  }
}

const QUIET_SHARE = 0.1;
const QUIET_PROBE_MS = 500;

/**
 * Waits (up to `maxSeconds`) until other processes have used less than 10% of the machine over
 * half a second, so a measurement does not start in the middle of somebody else's build.
 * Returns the seconds waited, or -1 when it gave up.
 */
export async function waitForQuiet(maxSeconds: number): Promise<number> {
  if (maxSeconds <= 0) return 0;
  const started = performance.now();
  for (;;) {
    const meter = new NoiseMeter();
    await meter.start();
    await new Promise((r) => setTimeout(r, QUIET_PROBE_MS));
    const { otherCpu } = await meter.stop();
    const waited = (performance.now() - started) / 1000;
    if (otherCpu < QUIET_SHARE) return waited < 1 ? 0 : waited;
    if (waited >= maxSeconds) return -1;
  }
}
