import { cpuSeconds } from '../../scenarios/harness/proc-stats.js';
import type { RunningSubject } from '../subjects/index.js';
import type { Measurement, MetricSpec } from './types.js';

const REAP_MS = 200;

/** What a measurement did, for CPU per unit of work: bytes relayed, requests answered. */
export interface Work {
  units: number;
}

/**
 * The subject's CPU cost per unit of work. Throughput on 2 shared cores moves with whatever
 * else runs; the CPU a relay spends per gigabyte or per request moves much less, so it is the
 * steadier way to compare relays.
 */
export function cpuMetric(id: string, label: string, unit: string, digits: number): MetricSpec {
  return { id: `${id}.cpu`, label: `${label}: subject CPU`, unit, better: 'lower', digits };
}

/** Runs a measurement and adds the subject's CPU per unit of work (times `scale`) as `${id}.cpu`. */
export async function withCpu(
  subject: RunningSubject,
  id: string,
  scale: number,
  run: () => Promise<Measurement & Work>,
): Promise<Measurement> {
  const before = await cpuSeconds(subject.pids);
  const { units, ...m } = await run();
  // Give a forking subject (socat) a moment to reap the children that just finished: until it
  // has, their CPU time is in neither its tree nor its cutime.
  await new Promise((r) => setTimeout(r, REAP_MS));
  const used = (await cpuSeconds(subject.pids)) - before;
  if (subject.pids.length === 0 || units <= 0) return m;
  return {
    values: { ...m.values, [`${id}.cpu`]: (used * scale) / units },
    detail: { ...m.detail, subjectCpuSeconds: +used.toFixed(2) },
  };
}
