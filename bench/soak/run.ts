/**
 * `npm run soak`: mixed load through sluice for minutes, with slow, resetting and vanishing
 * peers on both sides; prints RSS and open descriptors every minute and fails if anything
 * arrived corrupted, or if RSS keeps growing.
 *
 *   clients (echo, slow, reset, vanish, client-reset, client-vanish) --> route --> mixed target
 *   route: sluice relay, or tunnel-client -> tunnel-server (when the tunnel commands exist)
 *
 *   node dist/bench/soak/run.js [--minutes 10] [--concurrency 40] [--report-every 60]
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { installCleanupHandlers, spawnTracked, stopProcess, waitForLine } from '../processes.js';
import { rssBytes } from '../proc-stats.js';
import { startMixedTarget, type SoakMode } from './mixed-target.js';

const CLI = fileURLToPath(new URL('../../proxy/cli.js', import.meta.url));

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

function metric(port: number, name: string): Promise<number> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
        resolve(m ? Number(m[1]) : NaN);
      });
    }).on('error', () => resolve(NaN));
  });
}

/** One client session of a random kind; resolves when it is over, updating the tally. */
function session(port: number, tally: Tally): Promise<void> {
  const roll = Math.random();
  const mode: SoakMode = roll < 0.5 ? 'echo' : roll < 0.65 ? 'slow' : roll < 0.8 ? 'reset' : 'vanish';
  const clientMisbehaves = Math.random() < 0.1 ? (Math.random() < 0.5 ? 'client-reset' : 'client-vanish') : null;
  const size = 1 + Math.floor(Math.random() * (mode === 'slow' ? 256 * 1024 : 2 * 1024 * 1024));
  const data = randomBytes(size);
  tally.sessions++;
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const got = createHash('sha256');
    const sentHash = createHash('sha256').update(data).digest('hex');
    let received = 0;
    let prefixOk = true;
    let errored = false;
    s.on('data', (d: Buffer) => {
      if (received + d.length <= data.length && !data.subarray(received, received + d.length).equals(d)) prefixOk = false;
      if (received + d.length > data.length) prefixOk = false;
      got.update(d);
      received += d.length;
    });
    s.on('error', () => (errored = true));
    s.on('close', () => {
      if (!prefixOk) tally.corrupt++;
      else if (received === data.length && got.digest('hex') === sentHash) tally.intact++;
      else if (errored) tally.resets++;
      else tally.cutShort++;
      resolve();
    });
    s.on('connect', () => {
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
  const relay = spawnTracked(process.execPath, [CLI, 'relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--max-conns', '200', '--idle-timeout', '10s', '--metrics', '127.0.0.1:0', '--quiet']);
  const ready = await waitForLine(relay, /listening on 127\.0\.0\.1:(\d+)/, 10_000);
  const port = Number(ready[1]);
  let metricsPort = 0;
  await new Promise<void>((resolve) => {
    const onErr = (d: Buffer) => {
      const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(String(d));
      if (m) {
        metricsPort = Number(m[1]);
        relay.stderr?.off('data', onErr);
        resolve();
      }
    };
    relay.stderr?.on('data', onErr);
  });
  const pid = relay.pid!;
  const tally: Tally = { sessions: 0, intact: 0, corrupt: 0, cutShort: 0, resets: 0 };
  const samples: Sample[] = [];
  const started = performance.now();
  const endAt = started + minutes * 60_000;
  console.log(`soak: ${minutes} min, ${concurrency} concurrent sessions through sluice relay (pid ${pid})`);
  console.log('minute  sessions  intact  corrupt  cut-short  resets  relay RSS  fds  active');

  const report = async () => {
    const sample: Sample = {
      minute: (performance.now() - started) / 60_000,
      rssMb: (await rssBytes([pid])) / 1e6,
      fds: openFds(pid),
      active: await metric(metricsPort, 'sluice_connections_active'),
    };
    samples.push(sample);
    console.log(
      `${sample.minute.toFixed(1).padStart(6)}  ${String(tally.sessions).padStart(8)}  ${String(tally.intact).padStart(6)}  ${String(tally.corrupt).padStart(7)}  ${String(tally.cutShort).padStart(9)}  ${String(tally.resets).padStart(6)}  ${`${sample.rssMb.toFixed(1)} MB`.padStart(9)}  ${String(sample.fds).padStart(3)}  ${String(sample.active).padStart(6)}`,
    );
  };
  const reporter = setInterval(() => void report(), reportEverySec * 1000);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < endAt) await session(port, tally);
    }),
  );
  clearInterval(reporter);
  await report();
  // Everything should wind down: no connections left, descriptors back to the idle level.
  for (let i = 0; i < 100 && (await metric(metricsPort, 'sluice_connections_active')) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  const idle = { active: await metric(metricsPort, 'sluice_connections_active'), fds: openFds(pid) };
  await stopProcess(relay);
  target.server.close();

  const failures: string[] = [];
  if (tally.corrupt > 0) failures.push(`${tally.corrupt} sessions received bytes that were not what was sent`);
  if (idle.active !== 0) failures.push(`${idle.active} connections still active after the load stopped`);
  const half = samples.filter((s) => s.minute >= minutes / 2);
  if (half.length >= 3) {
    const slope = slopePerMinute(half);
    console.log(`RSS trend over the second half: ${slope.toFixed(2)} MB/min`);
    if (slope > 2) failures.push(`RSS keeps growing: ${slope.toFixed(2)} MB/min over the second half`);
  }
  console.log(`after the load: ${idle.active} active, ${idle.fds} open descriptors`);
  if (failures.length > 0) {
    for (const f of failures) console.log(`FAIL: ${f}`);
    process.exitCode = 1;
  } else console.log('PASS: nothing corrupted, nothing left open, RSS flat');
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
