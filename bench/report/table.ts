/** The plain-text table printed at the end of a run. */
import type { Results } from '../results.js';
import { NOISY_SHARE } from '../noise.js';
import { fmt, fmtPercent, fmtRatio, machineLine, toolsLine, verdict } from './format.js';

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
}

export function renderTable(r: Results): string {
  const lines: string[] = [];
  lines.push(`sluice bench: ${r.options.rounds} round(s), medians; ratios are same-run medians over the pipe relay and HAProxy`);
  lines.push(`machine: ${machineLine(r)}`);
  lines.push(`tools: ${toolsLine(r)}`);
  for (const s of r.subjects) if (s.skipped) lines.push(`skipped subject ${s.name}: ${s.skipped}`);

  for (const c of r.cases) {
    lines.push('');
    if (c.skipped) {
      lines.push(`${c.title}: skipped (${c.skipped})`);
      continue;
    }
    for (const metric of c.metrics) {
      lines.push(`${metric.label} [${metric.unit}, ${metric.better} is better] (${c.tool})`);
      const header = ['  subject', 'median', 'x pipe', 'x haproxy', 'spread', 'rounds'];
      const rows = (c.summary[metric.id] ?? []).map((s) => [
        `  ${s.subject}`,
        fmt(s.median, metric.digits),
        fmtRatio(s.vsPipe),
        fmtRatio(s.vsHaproxy),
        fmtPercent(s.spread),
        s.samples.map((v) => fmt(v, metric.digits)).join(' '),
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      lines.push(pad(header, widths));
      for (const row of rows) lines.push(pad(row, widths));
    }
    const pssCharged = new Set(c.samples.filter((s) => s.detail?.['charged'] === 'Pss').map((s) => s.subject));
    for (const subject of pssCharged) lines.push(`  (${subject} forks per connection: charged the sum of its Pss, not of VmRSS)`);
    for (const [subject, why] of Object.entries(c.subjectsSkipped)) lines.push(`  (${subject} not measured: ${why})`);
    for (const s of c.samples) if (s.error) lines.push(`  ! round ${s.round} ${s.subject}: ${s.error}`);
    if (c.discarded?.length) lines.push(`  (${c.discarded.length} disturbed measurement(s) taken again; the less disturbed one kept)`);
    const noisy = c.samples.map((s) => Number(s.detail?.['otherCpu'] ?? 0)).filter((x) => x > NOISY_SHARE);
    if (noisy.length > 0) {
      lines.push(`  ! ${noisy.length} of ${c.samples.length} measurements ran while other processes used more than ${NOISY_SHARE * 100}% of the CPU (up to ${Math.round(Math.max(...noisy) * 100)}%): treat these figures with care`);
    }
  }

  lines.push('');
  lines.push('Targets (they bind sluice; other subjects shown for reference)');
  if (r.targets.length === 0) lines.push('  nothing to check: the cases they need did not run');
  const width = Math.max(0, ...r.targets.map((t) => t.text.length));
  for (const t of r.targets) {
    const tag = t.binds ? verdict(t.met) : `(${verdict(t.met)})`;
    const value = /\.(growth|growth-max|rss)$/.test(t.metric) ? `${fmt(t.value, 1)} MB` : fmtRatio(t.value);
    lines.push(`  ${t.text.padEnd(width)}  ${t.subject.padEnd(14)} ${value.padStart(9)}  ${tag}`);
  }
  if (!r.targets.some((t) => t.binds)) lines.push('  sluice was not measured in this run');
  lines.push('');
  lines.push(`took ${Math.round(r.durationSeconds)} s`);
  return lines.join('\n');
}
