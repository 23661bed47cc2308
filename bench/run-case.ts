/**
 * One case: its server, then rounds of every subject in turn (ABCD ABCD ABCD), each subject
 * started fresh for its measurement.
 */
import type { BenchCase, CaseServer } from './cases/types.js';
import { NoiseMeter, NOISY_SHARE, waitForQuiet } from './noise.js';
import { summarize, type CaseResult, type Sample } from './results.js';
import type { Subject } from './subjects/index.js';

/** Above this share of the machine used by others, a measurement is taken again. */
const RETRY_SHARE = 0.15;

export interface RunSettings {
  rounds: number;
  quietWaitSeconds: number;
  /** How many times a measurement disturbed by other processes is taken again. */
  noisyRetries: number;
}

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

function describeValues(c: BenchCase, values: Record<string, number>): string {
  return c.metrics
    .filter((m) => values[m.id] !== undefined)
    .map((m) => `${values[m.id]!.toFixed(m.digits)} ${m.unit}`)
    .join(', ');
}

type Attempt = { startFailed: string } | { sample: Sample; otherCpu: number };

async function measureOnce(c: BenchCase, server: CaseServer, subject: Subject, round: number, prefix: string, settings: RunSettings): Promise<Attempt> {
  const waited = await waitForQuiet(settings.quietWaitSeconds);
  if (waited < 0) log(`${prefix} (machine still busy after ${settings.quietWaitSeconds} s; measuring anyway)`);
  else if (waited > 0) log(`${prefix} (waited ${waited.toFixed(0)} s for other processes to quieten)`);
  let running;
  try {
    running = await subject.start(server.target);
  } catch (err) {
    return { startFailed: (err as Error).message };
  }
  const noise = new NoiseMeter();
  try {
    await noise.start();
    const m = await server.measure(running);
    const died = running.exited();
    if (died) throw new Error(died);
    const { otherCpu, steal } = await noise.stop();
    const detail = { ...m.detail, otherCpu: +otherCpu.toFixed(3), steal: +steal.toFixed(3) };
    const busy = otherCpu > NOISY_SHARE ? `  (other processes used ${Math.round(otherCpu * 100)}% of the CPU meanwhile)` : '';
    log(`${prefix} ${describeValues(c, m.values)}${busy}`);
    return { sample: { round, subject: subject.name, values: m.values, detail }, otherCpu };
  } catch (err) {
    // When the subject crashed, that is the story, not the load tool's complaint about it.
    const message = running.exited() ?? (err as Error).message;
    log(`${prefix} FAILED: ${message}`);
    return { sample: { round, subject: subject.name, values: {}, error: message }, otherCpu: 0 };
  } finally {
    await running.stop();
  }
}

/**
 * `disabled` holds subjects dropped from the whole run (not installed, failed to start); a
 * subject that fails to start here is added to it, since it will not start next time either.
 */
export async function runCase(c: BenchCase, subjects: Subject[], disabled: Map<string, string>, settings: RunSettings): Promise<CaseResult> {
  const result: CaseResult = { id: c.id, title: c.title, tool: c.tool, metrics: c.metrics, subjectsSkipped: {}, samples: [], discarded: [], summary: {} };
  log(`\n== ${c.title} (${c.tool})`);
  let server;
  try {
    server = await c.open();
  } catch (err) {
    result.skipped = `could not start its server: ${(err as Error).message}`;
    log(`   skipped: ${result.skipped}`);
    return result;
  }
  try {
    for (let round = 1; round <= settings.rounds; round++) {
      for (const subject of subjects) {
        if (disabled.has(subject.name)) continue;
        if (subject.onlyWhereAccessLogMatters && !c.measuresAccessLog) continue;
        if (subject.onlyWhereConnectionCostMatters && !c.measuresConnectionCost) continue;
        const why = c.skip?.(subject) ?? null;
        if (why) {
          result.subjectsSkipped[subject.name] = why;
          continue;
        }
        const prefix = `   round ${round}/${settings.rounds} ${subject.name.padEnd(14)}`;
        let kept: { sample: Sample; otherCpu: number } | null = null;
        for (let attempt = 0; attempt <= settings.noisyRetries; attempt++) {
          const a = await measureOnce(c, server, subject, round, prefix, settings);
          if ('startFailed' in a) {
            disabled.set(subject.name, `failed to start: ${a.startFailed}`);
            log(`${prefix} failed to start, dropped from this run: ${a.startFailed}`);
            break;
          }
          // Of a disturbed measurement and its retake, keep the less disturbed one, whatever
          // their values: choosing by value would bias the median.
          if (!kept || a.otherCpu < kept.otherCpu) {
            if (kept) result.discarded.push(kept.sample);
            kept = a;
          } else {
            result.discarded.push(a.sample);
          }
          if (a.sample.error || kept.otherCpu <= RETRY_SHARE) break;
          if (attempt < settings.noisyRetries) log(`${prefix} disturbed (${Math.round(kept.otherCpu * 100)}% CPU used by others): measuring again`);
        }
        if (kept) result.samples.push(kept.sample);
      }
    }
  } finally {
    await server.close();
  }
  result.summary = summarize(result, subjects.map((s) => s.name));
  return result;
}
