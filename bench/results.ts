/** The shape of results.json, and the summary (medians, ratios) computed from raw samples. */
import type { MetricSpec } from './cases/types.js';
import { median, ratio, spread } from './stats.js';
import type { MachineInfo, Tools } from './tools.js';

export interface Sample {
  round: number;
  subject: string;
  values: Record<string, number>;
  detail?: Record<string, unknown>;
  error?: string;
}

export interface MetricSummary {
  subject: string;
  samples: number[];
  median: number;
  /** (max - min) / median over rounds. */
  spread: number;
  vsPipe: number;
  vsHaproxy: number;
}

export interface CaseResult {
  id: string;
  title: string;
  tool: string;
  metrics: MetricSpec[];
  /** Set when the whole case could not run. */
  skipped?: string;
  /** Subjects not measured in this case, and why. */
  subjectsSkipped: Record<string, string>;
  samples: Sample[];
  /** Measurements taken again because other processes disturbed them (kept for the record). */
  discarded: Sample[];
  summary: Record<string, MetricSummary[]>;
}

export interface TargetResult {
  text: string;
  metric: string;
  subject: string;
  value: number;
  /** null when a figure it needs is missing. */
  met: boolean | null;
  /** True when the target binds this subject (sluice, or the subject it names); else a reference point. */
  binds: boolean;
}

export interface Results {
  machine: MachineInfo;
  tools: Tools;
  options: Record<string, unknown>;
  subjects: { name: string; describe: string; skipped?: string }[];
  cases: CaseResult[];
  targets: TargetResult[];
  durationSeconds: number;
}

/** Per metric, per subject (in run order): the median over rounds and its ratios to the baselines. */
export function summarize(c: CaseResult, subjectOrder: readonly string[]): Record<string, MetricSummary[]> {
  const out: Record<string, MetricSummary[]> = {};
  for (const metric of c.metrics) {
    const bySubject = new Map<string, number[]>();
    for (const s of c.samples) {
      const v = s.values[metric.id];
      if (v === undefined) continue;
      bySubject.set(s.subject, [...(bySubject.get(s.subject) ?? []), v]);
    }
    const largest = Math.max(...[...bySubject.values()].map((xs) => median(xs)).filter(Number.isFinite));
    // A baseline near zero (HAProxy's RSS growth) makes ratios to it meaningless, not huge.
    const med = (name: string): number => {
      const m = median(bySubject.get(name) ?? []);
      return m >= largest * 0.01 ? m : NaN;
    };
    out[metric.id] = subjectOrder
      .filter((name) => bySubject.has(name))
      .map((name) => {
        const samples = bySubject.get(name)!;
        const m = median(samples);
        return { subject: name, samples, median: m, spread: spread(samples), vsPipe: ratio(m, med('pipe')), vsHaproxy: ratio(m, med('haproxy')) };
      });
  }
  return out;
}
