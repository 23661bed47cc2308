/** What a case is: a server to point subjects at, and one measurement per subject per round. */
import type { Address, RunningSubject, Subject } from '../subjects/index.js';

export interface MetricSpec {
  /** Unique across cases, e.g. 'bulk-1' or 'idle-1000.rss'. */
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  digits: number;
}

export interface Measurement {
  /** By metric id; a metric the subject cannot have (RSS of `direct`) is left out. */
  values: Record<string, number>;
  /** Anything else worth keeping in results.json (CPU seconds, latency, integrity). */
  detail?: Record<string, unknown>;
}

export interface CaseServer {
  target: Address;
  measure(subject: RunningSubject): Promise<Measurement>;
  close(): Promise<void>;
}

export interface BenchCase {
  id: string;
  title: string;
  /** The load tool used on this machine, e.g. 'iperf3' or 'built-in generator'. */
  tool: string;
  metrics: MetricSpec[];
  /** True where the access log's cost shows (churn): only there is `sluice:quiet` measured by default. */
  measuresAccessLog?: boolean;
  /** True where what one connection costs is the figure (churn): only there is the floor relay measured. */
  measuresConnectionCost?: boolean;
  /** Why a subject is not measured in this case (memory cases have nothing to sample for `direct`). */
  skip?(subject: Subject): string | null;
  open(): Promise<CaseServer>;
}

/** Memory cases sample the subject's own processes; `direct` has none. */
export const needsProcess = (subject: Subject): string | null =>
  subject.name === 'direct' ? 'no proxy process to measure' : null;
