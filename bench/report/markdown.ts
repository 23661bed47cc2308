/** results.md: a table the lead can paste into README, with the machine it came from. */
import type { Results } from '../results.js';
import { NOISY_SHARE } from '../noise.js';
import { fmt, fmtRatio, machineLine, toolsLine, verdict } from './format.js';

export function renderMarkdown(r: Results): string {
  const subjects = r.subjects.filter((s) => !s.skipped).map((s) => s.name);
  const out: string[] = [];
  out.push(`Measured on ${machineLine(r)}; ${toolsLine(r)}.`);
  out.push(`Medians of ${r.options.rounds} interleaved round(s); in brackets, the ratio to the plain \`pipe()\` relay measured in the same run.`);
  out.push('');
  out.push(`| case | ${subjects.join(' | ')} |`);
  out.push(`|---|${subjects.map(() => '---:').join('|')}|`);
  for (const c of r.cases) {
    if (c.skipped) continue;
    for (const metric of c.metrics) {
      const rows = c.summary[metric.id] ?? [];
      const cells = subjects.map((name) => {
        const s = rows.find((row) => row.subject === name);
        if (!s) return '-';
        return name === 'pipe' ? fmt(s.median, metric.digits) : `${fmt(s.median, metric.digits)} (${fmtRatio(s.vsPipe)})`;
      });
      const arrow = metric.better === 'higher' ? 'higher is better' : 'lower is better';
      out.push(`| ${metric.label}, ${metric.unit} (${arrow}) | ${cells.join(' | ')} |`);
    }
  }
  out.push('');
  const tools = r.cases.filter((c) => !c.skipped).map((c) => `${c.title}: ${c.tool}`);
  out.push(`Load: ${tools.join('; ')}.`);
  if (subjects.includes('socat')) {
    out.push('RSS is VmRSS of the subject process(es); socat forks per connection, so with 1000 connections it is charged the sum of its Pss instead (summed VmRSS would count shared pages a thousand times).');
  }
  for (const s of r.subjects) if (s.skipped) out.push(`Not measured: ${s.name} (${s.skipped}).`);
  const samples = r.cases.flatMap((c) => c.samples);
  const noisy = samples.filter((s) => Number(s.detail?.['otherCpu'] ?? 0) > NOISY_SHARE).length;
  if (noisy > 0) out.push(`${noisy} of ${samples.length} measurements ran while other processes used more than ${NOISY_SHARE * 100}% of the CPU.`);

  const binding = r.targets.filter((t) => t.binds);
  if (binding.length > 0) {
    out.push('');
    out.push('| target | subject | measured | |');
    out.push('|---|---|---:|---|');
    for (const t of binding) {
      const value = /\.(growth|growth-max|rss)$/.test(t.metric) ? `${fmt(t.value, 1)} MB` : fmtRatio(t.value);
      out.push(`| ${t.text} | ${t.subject} | ${value} | ${verdict(t.met)} |`);
    }
  }
  return out.join('\n') + '\n';
}
