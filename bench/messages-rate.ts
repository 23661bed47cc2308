/**
 * Messages per second through `sluice relay` in message mode, block vs drop-newest vs spill,
 * against the same producer (issue 5's benchmark), each mode in its own fresh relay process,
 * interleaved over rounds:
 *
 *   producer (100-byte lines, as fast as write() allows) --> sluice relay --messages lines --> target
 *
 *   fast target: the target reads everything at once (the cost of framing each message)
 *   stalled target: the target reads nothing for 1 s, then everything (what each policy does
 *                   with a burst: block holds the producer, drop discards, spill writes to disk)
 *
 *   node dist/bench/messages-rate.js [--messages 500000] [--rounds 3]
 */
import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberFlag } from './flags.js';
import { installCleanupHandlers, spawnTracked, stopProcess, waitForLine } from '../scenarios/harness/processes.js';

const CLI = fileURLToPath(new URL('../proxy/cli.js', import.meta.url));
const MODES = ['block', 'drop-newest', 'spill'] as const;
type Mode = (typeof MODES)[number];

interface Result {
  mode: Mode;
  target: 'fast' | 'stalled';
  producerSeconds: number;
  deliveredMessages: number;
  seconds: number;
  messagesPerS: number;
}

async function once(mode: Mode, stallMs: number, count: number, spillDir: string): Promise<Result> {
  let delivered = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const target = createServer((s: Socket) => {
    s.pause();
    setTimeout(() => s.resume(), stallMs);
    s.on('data', (d: Buffer) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) delivered++;
    });
    s.on('end', () => {
      s.end();
      resolveDone();
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
  const targetPort = (target.address() as { port: number }).port;
  const relay = spawnTracked(process.execPath, [
    CLI, 'relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--quiet',
    '--messages', 'lines', '--overflow', mode, '--window', '256KiB',
    ...(mode === 'spill' ? ['--spill-dir', spillDir] : []),
  ]);
  const ready = await waitForLine(relay, /listening on 127\.0\.0\.1:(\d+)/, 10_000);
  const line = Buffer.from('x'.repeat(99) + '\n');
  const batch = Buffer.concat(Array.from({ length: 100 }, () => line));
  const started = performance.now();
  const client = connect(Number(ready[1]), '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  for (let sent = 0; sent < count; sent += 100) if (!client.write(batch)) await new Promise((r) => client.once('drain', r));
  client.end();
  await new Promise((r) => client.once('finish', r));
  const producerSeconds = (performance.now() - started) / 1000;
  client.resume();
  await done;
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  await stopProcess(relay);
  await new Promise<void>((r) => target.close(() => r()));
  return { mode, target: stallMs > 0 ? 'stalled' : 'fast', producerSeconds, deliveredMessages: delivered, seconds, messagesPerS: delivered / seconds };
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const count = numberFlag('messages', 500_000);
  const rounds = numberFlag('rounds', 3);
  const spillDir = mkdtempSync(join(tmpdir(), 'sluice-bench-spill-'));
  const results: Result[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const stallMs of [0, 1000]) {
        for (const mode of MODES) {
          const r = await once(mode, stallMs, count, spillDir);
          results.push(r);
          console.log(`round ${round} ${r.target.padEnd(7)} ${mode.padEnd(11)} producer done in ${r.producerSeconds.toFixed(2)} s, ${r.deliveredMessages} delivered, ${(r.messagesPerS / 1000).toFixed(0)}k msg/s end to end`);
        }
      }
    }
  } finally {
    rmSync(spillDir, { recursive: true, force: true });
  }
  console.log(`\nmedians over ${rounds} rounds, ${count} messages of 100 bytes:`);
  console.log('target   mode         producer s  delivered  msg/s end to end');
  for (const target of ['fast', 'stalled'] as const) {
    for (const mode of MODES) {
      const rs = results.filter((r) => r.mode === mode && r.target === target);
      const med = (f: (r: Result) => number) => rs.map(f).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
      console.log(`${target.padEnd(8)} ${mode.padEnd(12)} ${med((r) => r.producerSeconds).toFixed(2).padStart(10)}  ${String(med((r) => r.deliveredMessages)).padStart(9)}  ${(med((r) => r.messagesPerS) / 1000).toFixed(0).padStart(8)}k`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
