/** Number formatting shared by the text table, the markdown and the SVG. */
import type { Tools } from '../tools.js';

export function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}

export function fmtPercent(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value * 100)}%` : '-';
}

export function verdict(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'met' : 'MISSED';
}

export function machineLine(r: { machine: { cpuModel: string; cores: number; node: string; kernel: string; date: string } }): string {
  const m = r.machine;
  return `${m.cpuModel}, ${m.cores} cores, ${m.kernel}, node ${m.node}, ${m.date.slice(0, 16).replace('T', ' ')} UTC`;
}

export function toolsLine(r: { tools: Tools }): string {
  const names: [keyof Tools, string][] = [['haproxy', 'HAProxy'], ['socat', 'socat'], ['iperf3', 'iperf3'], ['redisServer', 'redis']];
  return names.map(([key, label]) => `${label} ${r.tools[key].version ?? 'not installed'}`).join(', ');
}
