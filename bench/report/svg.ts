/**
 * results.svg: per metric, one bar per subject showing its median as a ratio to the pipe
 * relay's (1.0 is the dashed line). Hand-written SVG so the bench needs no dependency.
 */
import type { Results } from '../results.js';
import { fmt, fmtRatio, machineLine } from './format.js';

const WIDTH = 900;
const LABEL_W = 130;
const BAR_MAX_W = 560;
const ROW_H = 20;
const TITLE_H = 26;
const GROUP_GAP = 14;
/** Ratios above this are drawn clipped (direct can be several times the pipe relay). */
const MAX_RATIO = 3;

const COLORS: Record<string, string> = {
  direct: '#9e9e9e',
  pipe: '#616161',
  haproxy: '#1f77b4',
  socat: '#ff7f0e',
  sluice: '#2ca02c',
  'sluice-tunnel': '#17becf',
};
const VARIANT_COLORS = ['#98df8a', '#bcbd22', '#8c564b', '#e377c2'];

function color(subject: string, variantIndex: Map<string, number>): string {
  if (COLORS[subject]) return COLORS[subject]!;
  if (!variantIndex.has(subject)) variantIndex.set(subject, variantIndex.size);
  return VARIANT_COLORS[variantIndex.get(subject)! % VARIANT_COLORS.length]!;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderSvg(r: Results): string {
  const groups = r.cases
    .filter((c) => !c.skipped)
    .flatMap((c) => c.metrics.map((m) => ({ metric: m, rows: (c.summary[m.id] ?? []).filter((s) => Number.isFinite(s.median)) })))
    .filter((g) => g.rows.length > 0);
  const maxRatio = Math.min(
    MAX_RATIO,
    Math.max(1.2, ...groups.flatMap((g) => g.rows.map((s) => (Number.isFinite(s.vsPipe) ? s.vsPipe : 0)))),
  );
  const scale = BAR_MAX_W / maxRatio;
  const variantIndex = new Map<string, number>();

  const body: string[] = [];
  let y = 58;
  for (const g of groups) {
    const better = g.metric.better === 'higher' ? 'higher is better' : 'lower is better';
    body.push(`<text x="10" y="${y + 16}" class="title">${esc(`${g.metric.label} (${g.metric.unit}, ${better})`)}</text>`);
    y += TITLE_H;
    const top = y;
    for (const s of g.rows) {
      const ratio = Number.isFinite(s.vsPipe) ? s.vsPipe : 0;
      const w = Math.max(1, Math.min(ratio, maxRatio) * scale);
      const clipped = ratio > maxRatio ? ' (clipped)' : '';
      const label = `${Number.isFinite(s.vsPipe) ? fmtRatio(s.vsPipe) : 'no pipe figure'} · ${fmt(s.median, g.metric.digits)} ${g.metric.unit}${clipped}`;
      body.push(`<text x="${LABEL_W - 8}" y="${y + 14}" text-anchor="end">${esc(s.subject)}</text>`);
      body.push(`<rect x="${LABEL_W}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" fill="${color(s.subject, variantIndex)}"/>`);
      body.push(`<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + 14}" class="value">${esc(label)}</text>`);
      y += ROW_H;
    }
    const x1 = LABEL_W + scale;
    body.push(`<line x1="${x1.toFixed(1)}" y1="${top}" x2="${x1.toFixed(1)}" y2="${y}" class="one"/>`);
    y += GROUP_GAP;
  }
  if (groups.length === 0) {
    body.push(`<text x="10" y="${y + 16}">no results</text>`);
    y += 30;
  }

  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.title{font-weight:bold;font-size:13px}.value{fill:#333}.head{font-size:15px;font-weight:bold}.sub{fill:#555}.one{stroke:#000;stroke-dasharray:4 3}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" class="head">sluice bench: median ratio to a plain pipe() relay, same run (dashed line = 1.0x)</text>`,
    `<text x="10" y="40" class="sub">${esc(`${machineLine(r)}; ${r.options.rounds} round(s)`)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
