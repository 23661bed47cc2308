/** The live page's style sheet (live.css). */
export const LIVE_STYLE = String.raw`:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --up: #2563eb; --down: #059669; --held: #f59e0b; --full: #dc2626; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--ink); background: #f9fafb; }
body.unreachable main { opacity: 0.5; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 20px; display: flex; align-items: center; gap: 8px; }
h1 .sub { color: var(--muted); font-weight: normal; }
h2 { margin: 0 0 6px; font-size: 13px; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
main { padding: 16px 20px; }
footer { padding: 8px 20px 20px; color: var(--muted); font-size: 12px; }
a { color: var(--up); }
.updated { margin-left: auto; color: var(--muted); font-size: 12px; }
.health { padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 12px; background: var(--line); }
.health.ok { background: #d1fae5; color: #065f46; }
.health.bad { background: #fee2e2; color: #991b1b; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.big { font-size: 26px; font-weight: 600; }
.small { color: var(--ink); font-size: 13px; }
.unit { color: var(--muted); font-size: 12px; font-weight: normal; }
.figure.absent { display: none; }
.components { list-style: none; margin: 6px 0 0; padding: 0; font-size: 12px; }
.components li { display: grid; grid-template-columns: 110px 1fr 34px; align-items: center; gap: 6px; }
.components .name { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; min-width: 60px; }
.bar .fill { height: 100%; background: var(--up); }
.bar.full .fill { background: var(--full); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; margin: 14px 0; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
figcaption { font-size: 12px; color: var(--muted); display: flex; gap: 8px; flex-wrap: wrap; }
figcaption .max { margin-left: auto; }
figure svg { display: block; width: 100%; height: 80px; border-bottom: 1px solid var(--line); }
.axis { display: flex; justify-content: space-between; font-size: 11px; color: var(--muted); }
.series { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.series.s0 { stroke: var(--up); }
.series.s1 { stroke: var(--down); }
.key::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; }
.key.s0::before { background: var(--up); }
.key.s1::before { background: var(--down); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #f3f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.client, td.target { font-family: ui-monospace, monospace; font-size: 12px; }
td.dir { min-width: 170px; }
td.dir .bar { margin-bottom: 2px; }
td.dir .num, td.dir .total { font-size: 11px; color: var(--muted); margin-right: 8px; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.dir .total::before { content: "Σ "; }
tr.held { background: #fffbeb; box-shadow: inset 4px 0 0 var(--held); }
tr.held .held-text { color: #92400e; font-weight: 600; }
.held-count { color: #92400e; font-size: 12px; text-transform: none; letter-spacing: 0; }
#connections:not(.has-proxy) .proxy, #connections:not(.has-messages) .messages, #connections:not(.has-stream) .stream { display: none; }
.empty { color: var(--muted); }
`;
