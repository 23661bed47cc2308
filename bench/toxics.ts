/**
 * What the toxics do, measured through the real `sluice relay --toxic ...` (issue 15's bench):
 *
 *   bandwidth  producer (as fast as write() allows) --> relay --toxic bandwidth:upstream:rate=R --> target
 *              measured rate at the target after a warm-up / configured, R from 10 KB/s to 100 MB/s
 *   latency    client --1 byte--> relay --> echo --> relay --toxic latency:downstream:latency=L --> client
 *              round trips with the toxic minus the median round trip without it (same run): p50, p99 vs L
 *   memory     a producer pushing 256 MiB into bandwidth rate=1000 (1 MB/s) for --hold seconds:
 *              the relay's RSS over its baseline, and what the producer got written (held, not buffered)
 *
 *   node dist/bench/toxics.js [--seconds 4] [--hold 15] [--round-trips 200]
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { installCleanupHandlers, spawnTracked, stopProcess, waitForLine } from '../scenarios/harness/processes.js';
import { RssSampler } from '../scenarios/harness/proc-stats.js';

const CLI = fileURLToPath(new URL('../proxy/cli.js', import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function startRelay(targetPort: number, toxics: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawnTracked(process.execPath, [CLI, 'relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--quiet', ...toxics.flatMap((t) => ['--toxic', t])]);
  const ready = await waitForLine(child, /listening on 127\.0\.0\.1:(\d+)/, 10_000);
  return { child, port: Number(ready[1]) };
}

async function connected(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  return socket;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pushes as fast as the relay takes it; resolves with the bytes written when stopped. */
function pushUntil(socket: Socket, stop: Promise<void>, limitBytes = Number.POSITIVE_INFINITY): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  let stopped = false;
  void stop.then(() => (stopped = true));
  return (async () => {
    while (!stopped && written < limitBytes) {
      written += chunk.length;
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), stop]);
    }
    return written;
  })();
}

async function bandwidth(rateKBps: number, seconds: number): Promise<number> {
  let received = 0;
  const target = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  const relay = await startRelay(await listen(target), [`bandwidth:upstream:rate=${rateKBps}`]);
  const client = await connected(relay.port);
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const pushing = pushUntil(client, stopped);
  // A warm-up second, then the rate over the measured seconds.
  await sleep(1000);
  const fromBytes = received;
  const fromMs = performance.now();
  await sleep(seconds * 1000);
  const measured = ((received - fromBytes) / (performance.now() - fromMs)) * 1000;
  stop();
  await pushing;
  client.destroy();
  await stopProcess(relay.child);
  target.close();
  return measured / (rateKBps * 1000);
}

async function roundTrips(port: number, count: number): Promise<number[]> {
  const client = await connected(port);
  client.setNoDelay(true);
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    client.write('x');
    await new Promise((r) => client.once('data', r));
    rtts.push(performance.now() - t);
  }
  client.destroy();
  return rtts;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function latency(latencyMs: number, jitterMs: number, count: number): Promise<{ p50: number; p99: number; base: number }> {
  const echo = createServer((s) => {
    s.setNoDelay(true);
    s.pipe(s);
  });
  const echoPort = await listen(echo);
  const plain = await startRelay(echoPort, []);
  const base = quantile(await roundTrips(plain.port, count), 0.5);
  await stopProcess(plain.child);
  const toxic = await startRelay(echoPort, [`latency:downstream:latency=${latencyMs},jitter=${jitterMs}`]);
  const rtts = (await roundTrips(toxic.port, count)).map((r) => r - base);
  await stopProcess(toxic.child);
  echo.close();
  return { p50: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), base };
}

async function memory(holdSeconds: number): Promise<{ baselineMiB: number; peakGrowthMiB: number; writtenMiB: number; deliveredMiB: number }> {
  let delivered = 0;
  const target = createServer((s) => s.on('data', (d: Buffer) => (delivered += d.length)));
  const relay = await startRelay(await listen(target), ['bandwidth:upstream:rate=1000']);
  await sleep(300);
  const sampler = new RssSampler([relay.child.pid!], 100);
  const baseline = await sampler.startFromBaseline();
  const client = await connected(relay.port);
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const pushing = pushUntil(client, stopped, 256 * 1024 * 1024);
  await sleep(holdSeconds * 1000);
  stop();
  const written = await pushing;
  await sampler.stop();
  client.destroy();
  await stopProcess(relay.child);
  target.close();
  const mib = (n: number) => n / (1024 * 1024);
  // What the producer got written includes what sits in its own socket buffers and the kernel's.
  return { baselineMiB: mib(baseline), peakGrowthMiB: mib(sampler.peakBytes - baseline), writtenMiB: mib(written - client.writableLength), deliveredMiB: mib(delivered) };
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const seconds = arg('seconds', 4);
  const hold = arg('hold', 15);
  const count = arg('round-trips', 200);

  console.log(`bandwidth toxic: measured / configured over ${seconds} s after a 1 s warm-up (producer as fast as it may)`);
  console.log('rate KB/s   measured/configured');
  const rates = [10, 100, 1000, 10_000, 100_000];
  for (const rate of rates) console.log(`${String(rate).padStart(9)}   ${(await bandwidth(rate, seconds)).toFixed(3)}`);

  console.log(`\nlatency toxic (downstream): ${count} one-byte round trips, added = round trip - median round trip without the toxic`);
  console.log('latency ms  jitter ms   added p50   added p99   (base rtt)');
  for (const [l, j] of [
    [10, 0],
    [100, 0],
    [100, 10],
  ] as const) {
    const r = await latency(l, j, count);
    console.log(`${String(l).padStart(10)}  ${String(j).padStart(9)}   ${r.p50.toFixed(2).padStart(9)}   ${r.p99.toFixed(2).padStart(9)}   (${r.base.toFixed(2)})`);
  }

  console.log(`\nmemory: a producer pushing up to 256 MiB into bandwidth rate=1000 (1 MB/s) for ${hold} s`);
  const m = await memory(hold);
  console.log(`relay RSS baseline ${m.baselineMiB.toFixed(1)} MiB, peak growth ${m.peakGrowthMiB.toFixed(1)} MiB; producer got ${m.writtenMiB.toFixed(1)} MiB written, target got ${m.deliveredMiB.toFixed(1)} MiB`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
