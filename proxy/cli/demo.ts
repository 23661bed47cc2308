import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError, type ParsedOptions } from '../options/parse.js';
import { formatProgress, formatTable, renderChart } from '../demo/report.js';
import { DEMO_DEFAULTS, DEMO_STRATEGIES, runStrategy, type DemoStrategy, type RowResult } from '../demo/scenario.js';
import type { Command } from './command.js';
import { formatDuration } from '../config/units.js';
import { RELAY_DEFAULTS } from '../relay/defaults.js';
import { formatAddress, type Address } from '../net/address.js';
import { startHttpEndpoints } from '../signals/http-endpoints.js';
import { LiveDemo } from '../demo/live.js';

/** `sluice demo` (what `npm start` runs): the same overload through every strategy, measured. */
export const demoCommand: Command = {
  name: 'demo',
  summary: `built-in scenario: a ${DEMO_DEFAULTS.producerPerS / 1000}k msg/s producer, a ${DEMO_DEFAULTS.consumerPerS / 1000}k msg/s consumer, and each strategy between them`,
  usage: 'sluice demo [options]',
  examples: [
    'sluice demo',
    'sluice demo --duration 4s --strategies block,spill',
    'sluice demo --producer-rate 20000 --consumer-rate 1000 --out /tmp/demo',
    'sluice demo --duration 30s --metrics 127.0.0.1:9100',
  ],
  options: [
    { name: 'duration', kind: 'duration', default: formatDuration(DEMO_DEFAULTS.durationMs), min: 500, help: 'how long each strategy runs' },
    { name: 'producer-rate', kind: 'count', default: String(DEMO_DEFAULTS.producerPerS), min: 1, help: 'messages per second the producer offers (1 KiB each)' },
    { name: 'consumer-rate', kind: 'count', default: String(DEMO_DEFAULTS.consumerPerS), min: 1, help: 'messages per second the consumer can take' },
    { name: 'strategies', kind: 'string', placeholder: 'LIST', default: DEMO_STRATEGIES.join(','), help: `which rows to run, in order (${DEMO_STRATEGIES.join(',')})` },
    { name: 'out', kind: 'string', placeholder: 'DIR', default: 'sluice-demo', help: 'directory for chart.svg and results.json' },
    { name: 'metrics', kind: 'address', default: '127.0.0.1:0', help: 'the live page (/), /connections, /metrics and /healthz of the strategy running now (port 0 picks a free one)' },
  ],
  run: runDemo,
};

async function runDemo(o: ParsedOptions): Promise<number> {
  const strategies = String(o.strategies).split(',').map((s) => s.trim());
  for (const s of strategies) {
    if (!(DEMO_STRATEGIES as readonly string[]).includes(s)) throw new UsageError(`--strategies: unknown strategy "${s}" (choose from ${DEMO_STRATEGIES.join(',')})`);
  }
  const durationMs = o.duration as number;
  const producerPerS = o['producer-rate'] as number;
  const consumerPerS = o['consumer-rate'] as number;
  const outDir = resolve(String(o.out));
  mkdirSync(outDir, { recursive: true });
  const spillDir = mkdtempSync(join(tmpdir(), 'sluice-demo-spill-'));
  const socketDir = mkdtempSync(join(tmpdir(), 'sluice-demo-sock-'));
  const tty = process.stdout.isTTY === true;
  const live = new LiveDemo();
  const page = await startHttpEndpoints(o.metrics as Address, live, () => live.health(), { connections: (limit) => live.connections(limit) });

  console.log(`sluice demo: a producer offers ${producerPerS} msg/s (1 KiB each), a consumer takes ${consumerPerS} msg/s;`);
  console.log(`each strategy runs ${(durationMs / 1000).toFixed(1)} s between them (window ${RELAY_DEFAULTS.windowBytes / 1024} KiB). The pieces talk over unix`);
  console.log('sockets, whose kernel buffers are small, so what you see is the queueing each strategy chooses.');
  console.log(`Watch it live: http://${formatAddress(page.address)}/ (each strategy's connection, window and pressure as it runs)\n`);
  const rows: RowResult[] = [];
  try {
    for (const strategy of strategies as DemoStrategy[]) {
      let lastPlain = 0;
      const row = await runStrategy(strategy, {
        durationMs,
        producerPerS,
        consumerPerS,
        naiveCapBytes: 256 * 1024 * 1024,
        spillDir,
        socketDir,
        sampleEveryMs: 250,
        onMiddle: (s, middle) => live.show(s, middle),
        onSample: (s, point) => {
          const text = formatProgress(s, point, durationMs);
          if (tty) process.stdout.write(`\r${text}\x1b[K`);
          else if (point.tMs - lastPlain >= 1000) {
            lastPlain = point.tMs;
            console.log(text);
          }
        },
      });
      if (tty) process.stdout.write('\n');
      rows.push(row);
    }
  } finally {
    await page.close();
    rmSync(spillDir, { recursive: true, force: true });
    rmSync(socketDir, { recursive: true, force: true });
  }

  console.log('\n' + formatTable(rows) + '\n');
  const chartPath = join(outDir, 'chart.svg');
  writeFileSync(chartPath, renderChart(rows, `sluice demo: ${producerPerS} msg/s offered, ${consumerPerS} msg/s consumed`));
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ producerPerS, consumerPerS, durationMs, rows }, null, 1));
  console.log(`chart: ${chartPath}`);
  console.log(`data:  ${join(outDir, 'results.json')}`);
  return 0;
}
