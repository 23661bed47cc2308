/**
 * What watching costs: bulk throughput through `sluice relay --metrics` with nobody looking vs
 * with the live page open in headless chromium (polling /connections and /metrics once a
 * second), in the same run, interleaved (closed/open, then open/closed, ...), a fresh relay per
 * measurement. The load is the bench's bulk case (iperf3 when installed, else the built-in
 * generator). Issue 17 asks for the two to be within 5%.
 *
 *   closed: load --> sluice relay --metrics 127.0.0.1:P --> sink        (nobody asks P)
 *   open:   load --> sluice relay --metrics 127.0.0.1:P --> sink        (chromium shows http://127.0.0.1:P/)
 *
 *   npm run bench:page [-- --rounds 5 --seconds 5 --streams 1 --idle 0]
 *
 * `--idle N` keeps N idle connections open through the relay in both variants, so /connections
 * has N to rank (the page asks for 100). Needs chromium (bash .ci/deps).
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { bulkCase } from './cases/bulk.js';
import type { CaseServer } from './cases/types.js';
import { NoiseMeter, waitForQuiet } from './noise.js';
import { freePort, installCleanupHandlers } from './processes.js';
import { median } from './stats.js';
import { sluiceRelay } from './subjects/node-relays.js';
import { detectTools } from './tools.js';

const CLI = fileURLToPath(new URL('../proxy/cli.js', import.meta.url));
const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VARIANTS = ['closed', 'open'] as const;
type Variant = (typeof VARIANTS)[number];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Sample {
  round: number;
  variant: Variant;
  gbitPerS: number;
  cpuSecondsPerGB: number | null;
  /** Times the page refreshed during the measurement (open only). */
  refreshes: number | null;
  otherCpu: number;
}

/** Opens `count` idle connections to `port`; resolves with a function that closes them. */
async function idleConnections(port: number, count: number): Promise<() => void> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    sockets.push(s);
    await new Promise((r) => s.once('connect', r));
  }
  return () => sockets.forEach((s) => s.destroy());
}

async function measure(browser: Browser, variant: Variant, round: number, target: CaseServer, idle: number, caseId: string): Promise<Sample> {
  const metricsPort = await freePort();
  const subject = await sluiceRelay(`sluice:${variant}`, { command: [process.execPath, CLI], extraArgs: [] }, ['--metrics', `127.0.0.1:${metricsPort}`], null).start(target.target);
  const closeIdle = await idleConnections(subject.address.port, idle);
  const page = variant === 'open' ? await browser.newPage() : null;
  try {
    const refreshes = async () => (page ? Number(await page.evaluate("document.body.dataset.refreshes || '0'")) : 0);
    if (page) {
      await page.goto(`http://127.0.0.1:${metricsPort}/`);
      await page.waitForSelector('body[data-refreshes]');
    }
    await waitForQuiet(3);
    const before = await refreshes();
    const noise = new NoiseMeter();
    await noise.start();
    const m = await target.measure(subject);
    const { otherCpu } = await noise.stop();
    const after = await refreshes();
    return {
      round,
      variant,
      gbitPerS: m.values[caseId]!,
      cpuSecondsPerGB: m.values[`${caseId}.cpu`] ?? null,
      refreshes: page ? after - before : null,
      otherCpu,
    };
  } finally {
    await page?.close();
    closeIdle();
    await subject.stop();
  }
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const rounds = arg('rounds', 5);
  const seconds = arg('seconds', 5);
  const streams = arg('streams', 1);
  const idle = arg('idle', 0);
  const tools = await detectTools();
  const bulk = bulkCase(streams, seconds, tools);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }).catch((err: Error) => {
    process.stderr.write(`bench:page needs chromium at ${CHROMIUM} (bash .ci/deps): ${err.message.split('\n')[0]}\n`);
    return null;
  });
  if (!browser) return 1;
  const target = await bulk.open();
  process.stderr.write(`live page cost: ${bulk.tool}, ${idle} idle connections, ${rounds} rounds, ${path.relative(process.cwd(), CLI)}\n`);
  const samples: Sample[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const order: Variant[] = round % 2 === 1 ? ['closed', 'open'] : ['open', 'closed'];
      for (const variant of order) {
        const s = await measure(browser, variant, round, target, idle, bulk.id);
        samples.push(s);
        process.stderr.write(
          `round ${round} ${variant.padEnd(6)} ${s.gbitPerS.toFixed(2)} Gbit/s  ${s.cpuSecondsPerGB?.toFixed(2) ?? '-'} CPU s/GB` +
            `${s.refreshes !== null ? `  ${s.refreshes} page refreshes` : ''}  others ${(s.otherCpu * 100).toFixed(0)}% CPU\n`,
        );
      }
    }
  } finally {
    await browser.close();
    await target.close();
  }
  const of = (v: Variant, pick: (s: Sample) => number | null) => samples.filter((s) => s.variant === v).map(pick).filter((x): x is number => x !== null);
  const closed = median(of('closed', (s) => s.gbitPerS));
  const open = median(of('open', (s) => s.gbitPerS));
  const perRound = Array.from({ length: rounds }, (_, i) => {
    const pair = samples.filter((s) => s.round === i + 1);
    return pair.find((s) => s.variant === 'open')!.gbitPerS / pair.find((s) => s.variant === 'closed')!.gbitPerS;
  });
  const summary = {
    tool: bulk.tool,
    rounds,
    idleConnections: idle,
    medianGbitPerS: { closed: +closed.toFixed(3), open: +open.toFixed(3) },
    openOverClosed: +(open / closed).toFixed(3),
    openOverClosedPerRound: perRound.map((r) => +r.toFixed(3)),
    medianCpuSecondsPerGB: { closed: +median(of('closed', (s) => s.cpuSecondsPerGB)).toFixed(3), open: +median(of('open', (s) => s.cpuSecondsPerGB)).toFixed(3) },
    samples,
  };
  process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
  process.stderr.write(`\nmedian: closed ${closed.toFixed(2)} Gbit/s, open ${open.toFixed(2)} Gbit/s, open/closed ${(open / closed).toFixed(3)} (per round: ${perRound.map((r) => r.toFixed(3)).join(' ')})\n`);
  return 0;
}

process.exitCode = await main();
