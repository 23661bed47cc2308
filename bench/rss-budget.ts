/**
 * `npm run bench:rss`: does `--memory-budget` hold for the process, not just for the ledger?
 * (issue 19, item 4). Many clients push bulk data through one `sluice relay` into a target that
 * reads nothing for a while, then drains; the relay's RSS is sampled throughout:
 *
 *   pre (idle, ready) --burst: N clients x M MB into a stalled target (stall s)--> peak
 *       --target drains, clients finish or are turned away--> drained --post s--> after
 *
 * Targets: RSS growth (peak - pre) at most the budget + 16 MB, and RSS `post` seconds after the
 * drain within 10% of pre. Also printed: the most charged to the budget (sluice_memory_used_bytes),
 * how many clients the relay admitted (reached the target) and how many finished.
 *
 *   npm run bench:rss -- [--budget 32MiB] [--clients 500] [--mb 16] [--stall 20] [--post 60]
 *                        [--sluice-cmd "node dist/proxy/cli.js"] [--label NAME] [--json PATH]
 *
 * --sluice-cmd (or env SLUICE_BENCH_CMD) runs another build, to compare. One JSON line goes to
 * stdout (and to --json, appended); the readable summary to stderr.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSize } from '../proxy/config/units.js';
import { splitWords } from './args.js';
import { installCleanupHandlers, spawnTracked, stopProcess, waitForLine } from '../scenarios/harness/processes.js';
import { delay, now } from '../scenarios/harness/sockets.js';
import { httpGet, metricSamples, round } from './checks/support.js';

const MB = 1e6;
const MiB = 1024 * 1024;

interface Options {
  budget: string;
  clients: number;
  mb: number;
  stallS: number;
  postS: number;
  sluice: string[];
  label: string;
  json: string | null;
}

const USAGE = `usage: npm run bench:rss -- [--budget 32MiB] [--clients 500] [--mb 16] [--stall 20] [--post 60]
                            [--sluice-cmd "CMD"] [--label NAME] [--json PATH]`;

function parseArgs(argv: string[]): Options {
  const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const opts: Options = {
    budget: '32MiB',
    clients: 500,
    mb: 16,
    stallS: 20,
    postS: 60,
    sluice: process.env.SLUICE_BENCH_CMD ? splitWords(process.env.SLUICE_BENCH_CMD) : [process.execPath, path.join(distDir, 'proxy', 'cli.js')],
    label: '',
    json: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--budget') opts.budget = value();
    else if (flag === '--clients') opts.clients = Number(value());
    else if (flag === '--mb') opts.mb = Number(value());
    else if (flag === '--stall') opts.stallS = Number(value());
    else if (flag === '--post') opts.postS = Number(value());
    else if (flag === '--sluice-cmd') opts.sluice = splitWords(value());
    else if (flag === '--label') opts.label = value();
    else if (flag === '--json') opts.json = value();
    else if (flag === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return opts;
}

function rssMB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(text)?.[1] ?? NaN) / 1024;
}

/** The relay's own figures, in MiB: charged to the budget, read blocks held, V8 heap used (NaN where a build has no such metric). */
async function relayFigures(metricsPort: number): Promise<{ charged: number; blocks: number; heap: number }> {
  try {
    const { body } = await httpGet(metricsPort, '/metrics');
    const get = (name: string): number => (body.includes(name) ? metricSamples(body, name).sum / MiB : NaN);
    return { charged: get('sluice_memory_used_bytes'), blocks: get('sluice_read_blocks_bytes'), heap: get('nodejs_heap_used_bytes') };
  } catch {
    return { charged: NaN, blocks: NaN, heap: NaN };
  }
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const o = parseArgs(process.argv.slice(2));
  const budgetBytes = parseSize(o.budget);

  // The target: holds every connection unread until the drain, then reads at full speed.
  const held = new Set<net.Socket>();
  let draining = false;
  let admitted = 0;
  const drain = (s: net.Socket): void => {
    s.resume();
  };
  const target = net.createServer({ pauseOnConnect: true }, (s) => {
    admitted++;
    held.add(s);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => held.delete(s));
    if (draining) drain(s);
  });
  await new Promise<void>((resolve) => target.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
  const targetPort = (target.address() as net.AddressInfo).port;

  const argv = [...o.sluice, 'relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--memory-budget', o.budget, '--metrics', '127.0.0.1:0', '--quiet'];
  const relay = spawnTracked(argv[0]!, argv.slice(1));
  let stderr = '';
  relay.stderr?.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-65536)));
  const ready = await waitForLine(relay, /listening on 127\.0\.0\.1:(\d+)/, 10_000, 'the ready line');
  const relayPort = Number(ready[1]);
  let metricsPort = 0;
  for (let i = 0; i < 200 && !metricsPort; i++) {
    const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
    if (m) metricsPort = Number(m[1]);
    else await delay(25);
  }
  const pid = relay.pid!;

  let peak = 0;
  let maxCharged = 0;
  let atPeak = { blocks: NaN, heap: NaN };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rss = rssMB(pid);
      const figures = metricsPort ? await relayFigures(metricsPort) : { charged: NaN, blocks: NaN, heap: NaN };
      if (rss > peak) atPeak = figures;
      peak = Math.max(peak, rss);
      maxCharged = Math.max(maxCharged, figures.charged || 0);
      await delay(250);
    }
  })();

  await delay(3000);
  const pre = rssMB(pid);
  process.stderr.write(`relay pid ${pid}: ${argv.slice(1).join(' ')}\npre ${round(pre)} MB; ${o.clients} clients x ${o.mb} MB into a target stalled ${o.stallS} s\n`);

  const chunk = Buffer.alloc(64 * 1024, 7);
  const bytesEach = o.mb * MB;
  let finished = 0;
  let closed = 0;
  const allClosed = new Promise<void>((resolve) => {
    for (let i = 0; i < o.clients; i++) {
      const c = net.connect({ host: '127.0.0.1', port: relayPort });
      let sent = 0;
      let done = false;
      const push = (): void => {
        while (sent < bytesEach && !c.destroyed) {
          const n = Math.min(chunk.length, bytesEach - sent);
          sent += n;
          if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void c.once('drain', push);
        }
        if (sent >= bytesEach && !done) {
          done = true;
          finished++;
          c.end();
        }
      };
      c.on('connect', push);
      c.on('data', () => {});
      c.on('error', () => {});
      c.on('close', () => {
        if (++closed === o.clients) resolve();
      });
    }
  });

  await delay(o.stallS * 1000);
  const atStall = rssMB(pid);
  process.stderr.write(`end of stall: rss ${round(atStall)} MB, peak so far ${round(peak)} MB, charged max ${round(maxCharged)} MiB, admitted ${admitted}\n`);
  draining = true;
  for (const s of held) drain(s);
  const drainStart = now();
  await Promise.race([allClosed, delay(300_000)]);
  for (let i = 0; i < 100 && held.size > 0; i++) await delay(100);
  const drainS = (now() - drainStart) / 1000;
  const drained = rssMB(pid);
  process.stderr.write(`drained in ${round(drainS)} s: rss ${round(drained)} MB; finished ${finished} of ${o.clients}\n`);
  for (let s = 0; s < o.postS; s += 10) {
    await delay(Math.min(10, o.postS - s) * 1000);
    process.stderr.write(`  +${Math.min(o.postS, s + 10)} s: rss ${round(rssMB(pid))} MB\n`);
  }
  const after = rssMB(pid);
  let gcs = NaN;
  let gcMs = NaN;
  if (metricsPort) {
    try {
      const { body } = await httpGet(metricsPort, '/metrics');
      if (body.includes('sluice_after_burst_gc_total')) {
        gcs = metricSamples(body, 'sluice_after_burst_gc_total').sum;
        gcMs = metricSamples(body, 'sluice_after_burst_gc_seconds_total').sum * 1000;
      }
    } catch {
      // the figures stay NaN
    }
  }
  sampling = false;
  await sampler;
  await stopProcess(relay);
  target.close();

  const growth = peak - pre;
  const growthLimit = budgetBytes / MB + 16;
  const afterVsPre = (after / pre - 1) * 100;
  const result = {
    label: o.label,
    sluice: o.sluice.join(' '),
    budget: o.budget,
    clients: o.clients,
    mbEach: o.mb,
    preMB: round(pre),
    peakMB: round(peak),
    growthMB: round(growth),
    growthLimitMB: round(growthLimit),
    drainedMB: round(drained),
    afterMB: round(after),
    afterS: o.postS,
    afterVsPrePct: round(afterVsPre),
    maxChargedMiB: round(maxCharged),
    peakBlocksMiB: round(atPeak.blocks),
    peakHeapMiB: round(atPeak.heap),
    afterBurstGcs: gcs,
    afterBurstGcMs: round(gcMs),
    admitted,
    finished,
    drainS: round(drainS),
    pass: growth <= growthLimit && Math.abs(afterVsPre) <= 10,
  };
  process.stderr.write(
    `${result.pass ? 'PASS' : 'FAIL'}  growth ${result.growthMB} MB (need <= ${result.growthLimitMB}), +${o.postS} s ${result.afterMB} MB = ${result.afterVsPrePct}% vs pre (need within 10%), charged max ${result.maxChargedMiB} MiB (at the peak: read blocks ${result.peakBlocksMiB} MiB, heap ${result.peakHeapMiB} MiB), admitted ${admitted}, finished ${finished}, after-burst GCs ${gcs} (${result.afterBurstGcMs} ms)\n`,
  );
  const line = JSON.stringify(result);
  process.stdout.write(line + '\n');
  if (o.json) appendFileSync(o.json, line + '\n');
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
