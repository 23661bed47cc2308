import { cpuSeconds } from '../proc-stats.js';
import type { RunningSubject } from '../subjects.js';
import type { Measurement } from './types.js';

/** Runs a measurement and adds the subject's CPU seconds to its detail: throughput per core matters on 2 shared cores. */
export async function withCpu(subject: RunningSubject, run: () => Promise<Measurement>): Promise<Measurement> {
  const before = await cpuSeconds(subject.pids);
  const m = await run();
  const used = (await cpuSeconds(subject.pids)) - before;
  return { ...m, detail: { ...m.detail, subjectCpuSeconds: subject.pids.length ? Number(used.toFixed(2)) : null } };
}
