import type { DemoStrategy, RowResult, TimelinePoint } from './scenario.js';

/** Formats bytes for a table cell: `812 KiB`, `63.9 MiB`. */
export function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(0)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function ms(x: number | null): string {
  if (x === null) return '-';
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`;
}

/** The end-of-run table: one row per strategy, columns right-aligned. */
export function formatTable(rows: RowResult[]): string {
  const head = ['strategy', 'delivered', 'dropped', 'in flight', 'held upstream', 'producer rate', 'peak RAM', 'on disk', 'p50 latency', 'p99 latency', 'what happened'];
  const body = rows.map((r) => [
    r.strategy,
    String(r.delivered),
    String(r.dropped),
    String(r.inFlight),
    String(r.heldUpstream),
    `${r.producerRatePerS.toFixed(0)}/s`,
    humanBytes(r.peakMemoryBytes),
    r.peakDiskBytes > 0 ? humanBytes(r.peakDiskBytes) : '-',
    ms(r.p50Ms),
    ms(r.p99Ms),
    r.note,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** One progress line for a row being run. */
export function formatProgress(strategy: DemoStrategy, p: TimelinePoint, durationMs: number): string {
  return (
    `${strategy.padEnd(12)} ${(p.tMs / 1000).toFixed(1).padStart(4)}/${(durationMs / 1000).toFixed(0)} s  ` +
    `in ${p.sentPerS.toFixed(0).padStart(6)}/s  out ${p.deliveredPerS.toFixed(0).padStart(5)}/s  ` +
    `RAM ${humanBytes(p.memoryBytes).padStart(9)}  disk ${humanBytes(p.diskBytes).padStart(9)}  latency ${ms(p.latencyMs).padStart(8)}`
  );
}

const COLORS: Record<DemoStrategy, string> = {
  none: '#d62728',
  block: '#1f77b4',
  'drop-newest': '#ff7f0e',
  spill: '#2ca02c',
  adaptive: '#9467bd',
};

/**
 * A hand-written SVG with two panels over time, one line per strategy: bytes held in RAM and
 * median delivery latency, both on log scales (the naive row is orders of magnitude above
 * the others, which is the point).
 */
export function renderChart(rows: RowResult[], title: string): string {
  const W = 900;
  const panelH = 260;
  const left = 80;
  const right = 180;
  const top = 50;
  const gap = 70;
  const plotW = W - left - right;
  const H = top + panelH * 2 + gap + 60;
  const maxT = Math.max(1, ...rows.flatMap((r) => r.timeline.map((p) => p.tMs)));
  const x = (t: number) => left + (t / maxT) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`);

  const panel = (
    y0: number,
    label: string,
    pick: (p: TimelinePoint) => number | null,
    fmt: (v: number) => string,
    dashed?: (p: TimelinePoint) => number | null,
  ) => {
    const picks = dashed ? [pick, dashed] : [pick];
    const values = rows.flatMap((r) => r.timeline.flatMap((p) => picks.map((f) => f(p)))).filter((v): v is number => v !== null && v > 0);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1e-9, Math.min(...values)))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, lo * 10))));
    const y = (v: number) => y0 + panelH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panelH;
    out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelH}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${left}" y="${y0 - 8}">${escapeXml(label)} (log scale)</text>`);
    for (let v = lo; v <= hi * 1.0001; v *= 10) {
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${escapeXml(fmt(v))}</text>`);
    }
    const line = (r: RowResult, f: (p: TimelinePoint) => number | null, dash: boolean) => {
      const pts = r.timeline.map((p) => [p.tMs, f(p)] as const).filter((p): p is readonly [number, number] => p[1] !== null && p[1] > 0);
      if (pts.length === 0) return;
      const d = pts.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${COLORS[r.strategy]}" stroke-width="2"${dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    };
    for (const r of rows) {
      line(r, pick, false);
      if (dashed) line(r, dashed, true);
    }
  };
  panel(
    top,
    'bytes held by the proxy: in RAM (solid), on disk (dashed)',
    (p) => p.memoryBytes,
    (v) => (v >= 1024 ? humanBytes(v) : `${v} B`),
    (p) => (p.diskBytes > 0 ? p.diskBytes : null),
  );
  panel(top + panelH + gap, 'median latency of delivered messages', (p) => p.latencyMs, (v) => ms(v));
  for (let s = 0; s <= maxT / 1000; s += Math.max(1, Math.round(maxT / 1000 / 8))) {
    out.push(`<text x="${x(s * 1000).toFixed(1)}" y="${top + panelH * 2 + gap + 18}" text-anchor="middle">${s} s</text>`);
  }
  rows.forEach((r, i) => {
    const ly = top + 20 + i * 22;
    out.push(`<line x1="${W - right + 20}" x2="${W - right + 50}" y1="${ly}" y2="${ly}" stroke="${COLORS[r.strategy]}" stroke-width="3"/>`);
    out.push(`<text x="${W - right + 58}" y="${ly + 4}">${escapeXml(r.strategy)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
