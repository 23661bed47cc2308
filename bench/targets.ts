/**
 * The targets. They are for sluice; the same checks are shown for the other subjects
 * as a reference point (what would a pipe relay or HAProxy score). A target naming a subject
 * (the tunnel's) is checked for that subject only, and binds it.
 */
import type { CaseResult, MetricSummary, TargetResult } from './results.js';

interface Target {
  text: string;
  metric: string;
  /** Ratio to this baseline's median, else the median itself. */
  vs?: 'pipe' | 'haproxy';
  atLeast?: number;
  atMost?: number;
  /** Only for this subject, which it binds. */
  subject?: string;
}

export const TARGETS: readonly Target[] = [
  { text: 'Bulk, 1 conn: >= 1.1x pipe', metric: 'bulk-1', vs: 'pipe', atLeast: 1.1 },
  { text: 'Bulk, 1 conn: >= 0.9x HAProxy', metric: 'bulk-1', vs: 'haproxy', atLeast: 0.9 },
  { text: 'Request rate, 50 conns: >= 1.1x pipe', metric: 'rr-50', vs: 'pipe', atLeast: 1.1 },
  { text: 'Churn, 50 clients: >= 1.3x pipe', metric: 'churn-50', vs: 'pipe', atLeast: 1.3 },
  { text: 'Churn, 50 clients: >= 0.6x HAProxy', metric: 'churn-50', vs: 'haproxy', atLeast: 0.6 },
  { text: 'Slow consumer: RSS growth <= 16 MB', metric: 'slow-consumer.growth', atMost: 16 },
  { text: '1000 idle conns: RSS total <= 80 MB', metric: 'idle-1000.rss', atMost: 80 },
  { text: '10 000 idle conns: RSS total <= 120 MB', metric: 'idle-10k.rss', atMost: 120 },
  { text: 'Tunnel slow consumer: RSS growth per sidecar <= 16 MB', metric: 'slow-consumer.growth-max', atMost: 16, subject: 'sluice-tunnel' },
  { text: 'Tunnel 1000 idle conns: RSS total (both sidecars) <= 100 MB', metric: 'idle-1000.rss', atMost: 100, subject: 'sluice-tunnel' },
];

export function evaluateTargets(cases: readonly CaseResult[], subjects: readonly string[]): TargetResult[] {
  const summaries = new Map<string, MetricSummary[]>();
  for (const c of cases) for (const [id, rows] of Object.entries(c.summary)) summaries.set(id, rows);
  const results: TargetResult[] = [];
  for (const t of TARGETS) {
    const rows = summaries.get(t.metric);
    if (!rows) continue;
    for (const subject of subjects) {
      if (subject === 'direct' || subject === t.vs || (t.subject !== undefined && subject !== t.subject)) continue;
      const row = rows.find((r) => r.subject === subject);
      if (!row) continue;
      const value = t.vs === 'pipe' ? row.vsPipe : t.vs === 'haproxy' ? row.vsHaproxy : row.median;
      const met = !Number.isFinite(value) ? null : t.atLeast !== undefined ? value >= t.atLeast : value <= t.atMost!;
      results.push({ text: t.text, metric: t.metric, subject, value, met, binds: t.subject === subject || isSluiceRelay(subject) });
    }
  }
  return results;
}

/** Targets bind sluice relays (`sluice`, `sluice:VARIANT`) and the subject they name; the rest are for reference. */
export const isSluiceRelay = (subject: string): boolean => subject === 'sluice' || subject.startsWith('sluice:');
