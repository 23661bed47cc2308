/**
 * `npm run soak`: mixed load through sluice for minutes, with slow, resetting and vanishing
 * peers on both sides; prints RSS and open descriptors every minute and fails if anything
 * arrived corrupted, or if RSS keeps growing.
 *
 *   clients (echo, slow, reset, vanish, client-reset, client-vanish) --> route --> mixed target
 *   routes: sluice relay, and tunnel-client -> tunnel-server (2 links); sessions alternate
 *
 *   node dist/bench/soak/run.js [--minutes 10] [--concurrency 40] [--report-every 60]
 *
 * After the load it waits as long as a connection may take to close on its own (2 x the sidecars'
 * --idle-timeout + the close grace + 3 s slack) and fails on any still open, and checks that every
 * connection is accounted for: each sidecar finished all it accepted, and the relay and
 * tunnel-client together accepted one connection per session.
 *
 * A session that receives bytes it did not send prints a CORRUPT line: route, client port, mode,
 * first wrong byte, the wrong ranges and where their bytes came from (bench/soak/corruption.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { installCleanupHandlers, spawnTracked, stopProcess, waitForLine } from '../../scenarios/harness/processes.js';
import { rssBytes } from '../../scenarios/harness/proc-stats.js';
import { startMixedTarget, type SoakMode } from './mixed-target.js';
import { PrefixCheck, RecentSessions } from './corruption.js';
import { connectionBooks, describeBooks, metricsText, sample } from './books.js';
import { CLOSE_GRACE_MS, wheelTickMs } from '../../proxy/relay/relay.js';
import { parseDuration } from '../../proxy/config/units.js';

const CLI = fileURLToPath(new URL('../../proxy/cli.js', import.meta.url));

/** The sidecars' --idle-timeout: it bounds how long a quiet connection lives, so the wait after the load. */
const IDLE_TIMEOUT = '10s';

/**
 * The longest a connection may stay open once nothing moves (README, "Longest lives"): the idle
 * check closes it within two periods of its last byte (it reads a progress counter once a
 * period, each check handed out less than a tick of the timer wheel late),
 * then FIN both ways and destroyed after the grace. A wait shorter than this fails on
 * connections that are on their way out (a 15 s wait against 2 x 10 s + 2 s did, issue 19).
 */
const WORST_IDLE_MS = 2 * parseDuration(IDLE_TIMEOUT) + wheelTickMs(parseDuration(IDLE_TIMEOUT)) + CLOSE_GRACE_MS;

/** Slack on top of WORST_IDLE_MS: the slot is freed just after the destroy, and /metrics is polled. */
const SETTLE_SLACK_MS = 3000;

interface Tally {
  sessions: number;
  intact: number;
  corrupt: number;
  cutShort: number;
  resets: number;
}

interface Sample {
  minute: number;
  rssMb: number;
  fds: number;
  active: number;
  /** Which sidecar (index into the list) the sample is of. */
  who?: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

async function metric(port: number, name: string): Promise<number> {
  return sample(await metricsText(port), name);
}

/** One client session of a random kind; resolves when it is over, updating the tally. */
function session(route: number, tally: Tally, recent: RecentSessions): Promise<void> {
  const roll = Math.random();
  const mode: SoakMode = roll < 0.5 ? 'echo' : roll < 0.65 ? 'slow' : roll < 0.8 ? 'reset' : 'vanish';
  const clientMisbehaves = Math.random() < 0.1 ? (Math.random() < 0.5 ? 'client-reset' : 'client-vanish') : null;
  const size = 1 + Math.floor(Math.random() * (mode === 'slow' ? 256 * 1024 : 2 * 1024 * 1024));
  const data = randomBytes(size);
  tally.sessions++;
  const entry = recent.add({ route, mode, client: clientMisbehaves ?? 'ok', data });
  return new Promise((resolve) => {
    const s = connect({ port: route, host: '127.0.0.1', allowHalfOpen: true });
    const got = createHash('sha256');
    const sentHash = createHash('sha256').update(data).digest('hex');
    const check = new PrefixCheck(data);
    let errored = false;
    const startedAt = performance.now();
    s.on('data', (d: Buffer) => {
      check.push(d);
      got.update(d);
    });
    s.on('error', () => (errored = true));
    s.on('close', () => {
      if (!check.ok) {
        tally.corrupt++;
        console.log(
          `CORRUPT #${entry.id} route=${route} local=${entry.localPort} mode=${mode} client=${entry.client} size=${size} received=${check.received} firstBad=${check.firstBad} errored=${errored} ms=${Math.round(performance.now() - startedAt)} at=${new Date().toISOString()} ${recent.describe(data, check.all(), entry.id)}`,
        );
      } else if (check.received === data.length && got.digest('hex') === sentHash) tally.intact++;
      else if (errored) tally.resets++;
      else tally.cutShort++;
      resolve();
    });
    s.on('connect', () => {
      entry.localPort = s.localPort;
      s.write(`mode=${mode}\n`);
      if (clientMisbehaves === 'client-reset') {
        s.write(data.subarray(0, size >> 1));
        setTimeout(() => s.resetAndDestroy(), Math.random() * 200);
        return;
      }
      if (clientMisbehaves === 'client-vanish') {
        s.write(data.subarray(0, size >> 2));
        setTimeout(() => s.destroy(), Math.random() * 200);
        return;
      }
      s.end(data);
    });
  });
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const minutes = arg('minutes', 10);
  const concurrency = arg('concurrency', 40);
  const reportEverySec = arg('report-every', 60);
  const target = await startMixedTarget();
  const started0 = async (args: string[], command: string) => {
    const child = spawnTracked(process.execPath, [CLI, command, ...args, '--metrics', '127.0.0.1:0', '--quiet']);
    const ready = await waitForLine(child, /listening on 127\.0\.0\.1:(\d+)/, 10_000);
    const metricsPort = await new Promise<number>((resolve) => {
      let seen = '';
      const onErr = (d: Buffer) => {
        seen += String(d);
        const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
        if (m) {
          child.stderr?.off('data', onErr);
          resolve(Number(m[1]));
        }
      };
      child.stderr?.on('data', onErr);
    });
    return { child, port: Number(ready[1]), metricsPort, pid: child.pid!, name: command };
  };
  const relay = await started0(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--max-conns', '200', '--idle-timeout', IDLE_TIMEOUT], 'relay');
  const tunnelServer = await started0(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--idle-timeout', IDLE_TIMEOUT], 'tunnel-server');
  const tunnelClient = await started0(['--listen', '127.0.0.1:0', '--server', `127.0.0.1:${tunnelServer.port}`, '--links', '2', '--idle-timeout', IDLE_TIMEOUT], 'tunnel-client');
  const sidecars = [relay, tunnelServer, tunnelClient];
  const routes = [relay.port, tunnelClient.port];
  const tally: Tally = { sessions: 0, intact: 0, corrupt: 0, cutShort: 0, resets: 0 };
  // Enough past sessions to cover every one running when a corrupt one started (and some).
  const recent = new RecentSessions(3 * concurrency);
  const samples: Sample[] = [];
  const started = performance.now();
  const endAt = started + minutes * 60_000;
  console.log(`soak: ${minutes} min, ${concurrency} concurrent sessions, half through sluice relay, half through tunnel-client -> tunnel-server`);
  console.log(`routes: relay ${relay.port}, tunnel-client ${tunnelClient.port}`);
  console.log('minute  sessions  intact  corrupt  cut-short  resets  RSS MB relay/t-server/t-client  fds  active');

  const report = async () => {
    const minute = (performance.now() - started) / 60_000;
    const each: Sample[] = [];
    for (const s of sidecars) {
      each.push({ minute, rssMb: (await rssBytes([s.pid])) / 1e6, fds: openFds(s.pid), active: await metric(s.metricsPort, 'sluice_connections_active') });
    }
    samples.push(...each.map((e, i) => ({ ...e, who: i })));
    console.log(
      `${minute.toFixed(1).padStart(6)}  ${String(tally.sessions).padStart(8)}  ${String(tally.intact).padStart(6)}  ${String(tally.corrupt).padStart(7)}  ${String(tally.cutShort).padStart(9)}  ${String(tally.resets).padStart(6)}  ${each.map((e) => e.rssMb.toFixed(1)).join('/').padStart(28)}  ${each.map((e) => e.fds).join('/').padStart(3)}  ${each.map((e) => e.active).join('/')}`,
    );
  };
  const reporter = setInterval(() => void report(), reportEverySec * 1000);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (performance.now() < endAt) await session(routes[i % routes.length]!, tally, recent);
    }),
  );
  clearInterval(reporter);
  await report();
  // Everything should wind down: no connections left, descriptors back to the idle level.
  const activeNow = async () => {
    let total = 0;
    for (const s of sidecars) total += await metric(s.metricsPort, 'sluice_connections_active');
    return total;
  };
  const settleMs = WORST_IDLE_MS + SETTLE_SLACK_MS;
  const loadEnded = performance.now();
  const sinceLoad = () => `${((performance.now() - loadEnded) / 1000).toFixed(1)} s`;
  let woundDown: string | null = null;
  while (performance.now() - loadEnded < settleMs) {
    if ((await activeNow()) === 0) {
      woundDown = sinceLoad();
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const idle = { active: await activeNow(), fds: sidecars.map((s) => openFds(s.pid)).join('/') };
  const perSidecar = async () => (await Promise.all(sidecars.map((s) => metric(s.metricsPort, 'sluice_connections_active')))).join('/');
  console.log(
    woundDown !== null
      ? `after the last session: every sidecar connection closed within ${woundDown} (allowed ${settleMs / 1000} s: 2 x --idle-timeout ${IDLE_TIMEOUT} + ${CLOSE_GRACE_MS / 1000} s grace + ${SETTLE_SLACK_MS / 1000} s)`
      : `after the last session: still active after ${sinceLoad()}: ${await perSidecar()} (relay/t-server/t-client)`,
  );
  // Every connection accounted for: each one a sidecar accepted has finished, with its end counted.
  const ledgers = await Promise.all(sidecars.map((s) => connectionBooks(s.metricsPort)));
  sidecars.forEach((s, i) => console.log(describeBooks(s.name, ledgers[i]!)));
  for (const s of sidecars) await stopProcess(s.child);
  target.server.close();

  const failures: string[] = [];
  if (tally.corrupt > 0) failures.push(`${tally.corrupt} sessions received bytes that were not what was sent`);
  if (idle.active !== 0) failures.push(`${idle.active} connections still active ${settleMs / 1000} s after the load stopped`);
  sidecars.forEach((s, i) => {
    const b = ledgers[i]!;
    if (b.accepted !== b.finished) failures.push(`${s.name}: ${b.accepted} connections accepted but ${b.finished} finished`);
  });
  // Each session is one connection to the relay or the tunnel-client (the tunnel-server's are its streams).
  const routed = ledgers[sidecars.indexOf(relay)]!.accepted + ledgers[sidecars.indexOf(tunnelClient)]!.accepted;
  if (routed !== tally.sessions) failures.push(`${tally.sessions} sessions but the relay and tunnel-client accepted ${routed} connections`);
  sidecars.forEach((s, i) => {
    // A trend needs points: judge only with five or more samples over the second half, and only
    // a rise that is both steady (slope) and large (net), so GC sawtooth does not count.
    const half = samples.filter((x) => x.who === i && x.minute >= minutes / 2);
    if (half.length < 5) return console.log(`${s.name}: too few samples for an RSS trend (run longer)`);
    const slope = slopePerMinute(half);
    const net = half[half.length - 1]!.rssMb - half[0]!.rssMb;
    console.log(`${s.name}: RSS over the second half ${slope.toFixed(2)} MB/min, ${net.toFixed(1)} MB net`);
    if (slope > 1 && net > 10) failures.push(`${s.name} RSS keeps growing: ${slope.toFixed(2)} MB/min, ${net.toFixed(1)} MB over the second half`);
  });
  console.log(`after the load: ${idle.active} active, ${idle.fds} open descriptors (relay/t-server/t-client)`);
  if (failures.length > 0) {
    for (const f of failures) console.log(`FAIL: ${f}`);
    process.exitCode = 1;
  } else console.log('PASS: nothing corrupted, every connection accounted for and closed, RSS flat');
}

function slopePerMinute(samples: Sample[]): number {
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.minute, 0) / n;
  const my = samples.reduce((a, s) => a + s.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.minute - mx) * (s.rssMb - my);
    den += (s.minute - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
