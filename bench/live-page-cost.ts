/**
 * What watching costs: bulk throughput through `sluice relay --metrics` with nobody looking vs
 * with the page's requests vs with the live page open in headless chromium, in the same run,
 * interleaved (the order rotates every round), a fresh relay per measurement. The load is the
 * bench's bulk case (iperf3 when installed, else the built-in generator). Issue 17 asks for
 * open and closed to be within 5%.
 *
 *   closed: load --> sluice relay --metrics 127.0.0.1:P --> sink   (nobody asks P)
 *   polled: the same, and this process asks P what the page asks, as often (GET /connections?limit=100 and /metrics, once a second, keep-alive)
 *   open:   the same, and chromium shows http://127.0.0.1:P/ (the browser's own CPU on the same cores included)
 *
 * Then the relay's own CPU for the page: the relay idle with `--idle` connections open, 20 s
 * with nobody asking and 20 s with the page open, CPU seconds of the relay process each.
 *
 *   npm run bench:page [-- --rounds 5 --seconds 5 --streams 1 --idle 0]
 *
 * `--idle N` keeps N idle connections open through the relay in every variant, so /connections
 * has N to rank (the page asks for 100); the load is then the built-in one, whose sink keeps them
 * (iperf3's server takes one client). Needs chromium (bash .ci/deps).
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { bulkCase } from './cases/bulk.js';
import type { CaseServer } from './cases/types.js';
import { NoiseMeter, waitForQuiet } from './noise.js';
import { CHROMIUM_PATH, launchChromium } from '../scenarios/harness/chromium.js';
import { numberFlag } from './flags.js';
import { cpuSeconds } from '../scenarios/harness/proc-stats.js';
import { freePort, installCleanupHandlers } from '../scenarios/harness/processes.js';
import { median } from './stats.js';
import { sluiceRelay } from './subjects/node-relays.js';
import { detectTools } from './tools.js';

const CLI = fileURLToPath(new URL('../proxy/cli.js', import.meta.url));
const VARIANTS = ['closed', 'polled', 'open'] as const;
const PAGE_REQUESTS = ['/connections?limit=100', '/metrics'];
const IDLE_COST_SECONDS = 20;
type Variant = (typeof VARIANTS)[number];

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

/** Asks what the page asks, as often, until stopped: the page's requests without a browser. */
function poll(port: number): () => void {
  const agent = new http.Agent({ keepAlive: true });
  let timer: NodeJS.Timeout | null = null;
  const once = () => {
    for (const path of PAGE_REQUESTS) http.get({ host: '127.0.0.1', port, path, agent }, (res) => res.resume()).on('error', () => {});
    timer = setTimeout(once, 1000);
  };
  once();
  return () => {
    if (timer) clearTimeout(timer);
    agent.destroy();
  };
}

async function measure(browser: Browser, variant: Variant, round: number, target: CaseServer, idle: number, caseId: string): Promise<Sample> {
  const metricsPort = await freePort();
  const subject = await sluiceRelay(`sluice:${variant}`, { command: [process.execPath, CLI], extraArgs: [] }, ['--metrics', `127.0.0.1:${metricsPort}`], null).start(target.target);
  const closeIdle = await idleConnections(subject.address.port, idle);
  const page = variant === 'open' ? await browser.newPage() : null;
  const stopPolling = variant === 'polled' ? poll(metricsPort) : () => {};
  try {
    const refreshes = async () => (page ? Number(await page.evaluate("document.body.dataset.refreshes || '0'")) : 0);
    if (page) {
      await page.goto(`http://127.0.0.1:${metricsPort}/`);
      await page.waitForSelector('body[data-refreshes]');
    }
    await waitForQuiet(3);
    // The idle connections are all there to be listed (a target that refused them would have closed them).
    const listed = await connectionsText(metricsPort, 0);
    if (/"total":(\d+)/.exec(listed)?.[1] !== String(idle)) throw new Error(`before the load /connections said ${listed}, not the ${idle} idle connections`);
    const before = await refreshes();
    const noise = new NoiseMeter();
    await noise.start();
    const m = await target.measure(subject).catch(async (err: Error) => {
      await noise.stop();
      // What the relay held when the load tool gave up: the busiest connections, as the page would show them.
      throw new Error(`${err.message}; the relay's busiest connections then: ${await connectionsText(metricsPort, 3)}`);
    });
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
    stopPolling();
    await page?.close();
    closeIdle();
    await subject.stop();
  }
}

/** `/connections?limit=N` on the relay's metrics port, as one line (or why it could not be read). */
function connectionsText(port: number, limit: number): Promise<string> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: `/connections?limit=${limit}`, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('no answer within 5 s'));
      })
      .on('error', (err) => resolve(`(unreadable: ${err.message})`));
  });
}

/** The relay process's CPU, idle but for `idle` open connections: nobody asking vs the page open. */
async function relayCpuForThePage(browser: Browser, idle: number): Promise<{ closedMsPerS: number; openMsPerS: number; pageRefreshes: number }> {
  const sink = net.createServer((s) => s.resume());
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const metricsPort = await freePort();
  const target = { host: '127.0.0.1', port: (sink.address() as net.AddressInfo).port };
  const subject = await sluiceRelay('sluice:idle', { command: [process.execPath, CLI], extraArgs: [] }, ['--metrics', `127.0.0.1:${metricsPort}`], null).start(target);
  const closeIdle = await idleConnections(subject.address.port, idle);
  const cpuOver = async (): Promise<number> => {
    const before = await cpuSeconds(subject.pids);
    await new Promise((r) => setTimeout(r, IDLE_COST_SECONDS * 1000));
    return ((await cpuSeconds(subject.pids)) - before) * 1000 / IDLE_COST_SECONDS;
  };
  try {
    const closed = await cpuOver();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${metricsPort}/`);
    await page.waitForSelector('body[data-refreshes]');
    const before = Number(await page.evaluate("document.body.dataset.refreshes || '0'"));
    const open = await cpuOver();
    const pageRefreshes = Number(await page.evaluate("document.body.dataset.refreshes || '0'")) - before;
    await page.close();
    return { closedMsPerS: +closed.toFixed(2), openMsPerS: +open.toFixed(2), pageRefreshes };
  } finally {
    closeIdle();
    await subject.stop();
    sink.close();
  }
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const rounds = numberFlag('rounds', 5);
  const seconds = numberFlag('seconds', 5);
  const streams = numberFlag('streams', 1);
  const idle = numberFlag('idle', 0);
  const tools = await detectTools();
  // iperf3's server takes one client at a time: idle connections through the relay would reach it
  // too (refused while it is not up, or taking the test's place as it starts, which hangs the run).
  // The built-in load's sink keeps any number of them open.
  const bulk = bulkCase(streams, seconds, idle > 0 ? { ...tools, iperf3: { path: null, version: null } } : tools);
  const browser = await launchChromium().catch((err: Error) => {
    process.stderr.write(`bench:page needs chromium at ${CHROMIUM_PATH} (bash .ci/deps): ${err.message.split('\n')[0]}\n`);
    return null;
  });
  if (!browser) return 1;
  const target = await bulk.open();
  process.stderr.write(`live page cost: ${bulk.tool}, ${idle} idle connections, ${rounds} rounds, ${path.relative(process.cwd(), CLI)}\n`);
  const samples: Sample[] = [];
  const failures: string[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const order: Variant[] = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
      for (const variant of order) {
        // One failed measurement (a load tool that hung on a busy machine) is told and left out, not the whole run.
        const s = await measure(browser, variant, round, target, idle, bulk.id).catch((err: Error) => {
          failures.push(`round ${round} ${variant}: ${err.message}`);
          process.stderr.write(`round ${round} ${variant.padEnd(6)} FAILED: ${err.message}\n`);
          return null;
        });
        if (!s) continue;
        samples.push(s);
        process.stderr.write(
          `round ${round} ${variant.padEnd(6)} ${s.gbitPerS.toFixed(2)} Gbit/s  ${s.cpuSecondsPerGB?.toFixed(2) ?? '-'} CPU s/GB` +
            `${s.refreshes !== null ? `  ${s.refreshes} page refreshes` : ''}  others ${(s.otherCpu * 100).toFixed(0)}% CPU\n`,
        );
      }
    }
  } finally {
    await target.close();
  }
  const of = (v: Variant, pick: (s: Sample) => number | null) => samples.filter((s) => s.variant === v).map(pick).filter((x): x is number => x !== null);
  const gbit = Object.fromEntries(VARIANTS.map((v) => [v, median(of(v, (s) => s.gbitPerS))])) as Record<Variant, number>;
  const cpu = Object.fromEntries(VARIANTS.map((v) => [v, median(of(v, (s) => s.cpuSecondsPerGB))])) as Record<Variant, number>;
  // null for a round where either measurement failed.
  const perRound = (v: Variant) =>
    Array.from({ length: rounds }, (_, i) => {
      const round = samples.filter((s) => s.round === i + 1);
      const [it, closed] = [round.find((s) => s.variant === v), round.find((s) => s.variant === 'closed')];
      return it && closed ? +(it.gbitPerS / closed.gbitPerS).toFixed(3) : null;
    });
  const idleCost = await relayCpuForThePage(browser!, idle);
  const summary = {
    tool: bulk.tool,
    rounds,
    idleConnections: idle,
    medianGbitPerS: gbit,
    overClosed: { polled: +(gbit.polled / gbit.closed).toFixed(3), open: +(gbit.open / gbit.closed).toFixed(3) },
    overClosedPerRound: { polled: perRound('polled'), open: perRound('open') },
    medianCpuSecondsPerGB: cpu,
    relayCpuWhileIdle: idleCost,
    failures,
    samples,
  };
  process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
  process.stderr.write(
    `\nmedian Gbit/s: closed ${gbit.closed.toFixed(2)}, polled ${gbit.polled.toFixed(2)} (${summary.overClosed.polled}x), open ${gbit.open.toFixed(2)} (${summary.overClosed.open}x)\n` +
      `median relay CPU s/GB: closed ${cpu.closed.toFixed(2)}, polled ${cpu.polled.toFixed(2)}, open ${cpu.open.toFixed(2)}\n` +
      `relay CPU while idle, ${IDLE_COST_SECONDS} s each: closed ${idleCost.closedMsPerS} ms/s, page open ${idleCost.openMsPerS} ms/s (${idleCost.pageRefreshes} refreshes)\n` +
      (failures.length > 0 ? `${failures.length} measurement(s) failed and are left out (above)\n` : ''),
  );
  await browser!.close();
  return 0;
}

process.exitCode = await main();
