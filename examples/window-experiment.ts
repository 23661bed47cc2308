/**
 * A protocol experiment: how fast can one tunnel stream go over a link with a long round trip,
 * for a fixed receive window of each size, and with auto-tuning? A window-limited stream moves at
 * most one window per round trip, so at 50 ms a fixed 256 KiB window caps it near 5 MiB/s
 * whatever the link could carry; auto-tuning grows the window while the consumer keeps up.
 *
 *   dialer TunnelSession --TCP--> delaying relay (+delay/2 each way, in process) --TCP--> acceptor TunnelSession
 *      one stream, writes as fast as write() allows  -->  reader takes everything at once
 *
 *   node dist/examples/window-experiment.js [--delay 50ms] [--seconds 3] [--windows 256KiB,1MiB,4MiB,16MiB] [--json]
 *
 * Prints one row per configuration: the window, the throughput, and the ratio to the first one.
 * Everything runs in this process on loopback; the delay is added by a small relay that holds each
 * chunk for half the round trip in each direction (no netem, no root needed).
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { parseDuration, parseSize, formatSize, TunnelSession, type TunnelStream } from '../proxy/index.js';

interface Config {
  label: string;
  initialWindowBytes: number;
  maxWindowBytes: number;
  autoTune: boolean;
}

interface Row {
  window: string;
  mibPerS: number;
  ratio: number;
  finalWindowBytes: number;
  rttMs: number | null;
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

/** Listens on 127.0.0.1:0. */
async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** One direction of the delaying relay: every chunk is written `delayMs` after it was read, in order. */
function delayed(from: Socket, to: Socket, delayMs: number): void {
  const queue: { at: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) to.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(flush, Math.max(0, queue[0]!.at - now));
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ at: performance.now() + delayMs, chunk });
    timer ??= setTimeout(flush, delayMs);
  });
  from.on('end', () => to.end());
  from.on('error', () => to.destroy());
}

/** A relay that adds `rttMs` to every round trip: half each way. */
async function delayingRelay(targetPort: number, rttMs: number): Promise<{ port: number; server: Server }> {
  const server = createServer({ noDelay: true }, (client) => {
    const target = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    delayed(client, target, rttMs / 2);
    delayed(target, client, rttMs / 2);
    target.on('error', () => client.destroy());
  });
  return { port: await listen(server), server };
}

/** Runs one stream for `seconds` through a fresh link and returns its throughput. */
async function measure(config: Config, rttMs: number, seconds: number): Promise<Omit<Row, 'ratio'>> {
  let acceptor: TunnelSession | undefined;
  let received = 0;
  let stop = false;
  const sink = createServer({ noDelay: true }, (socket) => {
    acceptor = new TunnelSession(socket, { role: 'acceptor', ...config });
    acceptor.on('stream', (stream: TunnelStream) => {
      stream.on('data', (d: Buffer) => (received += d.length));
      stream.on('error', () => {});
    });
  });
  const sinkPort = await listen(sink);
  const relay = await delayingRelay(sinkPort, rttMs);
  const socket = connect({ port: relay.port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  const dialer = new TunnelSession(socket, { role: 'dialer', ...config });
  await dialer.ping(); // a round-trip estimate first, as a real link has after its first keepalive
  const stream = dialer.open();
  stream.on('error', () => {});
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const started = performance.now();
  const startBytes = received;
  const closed = once(stream, 'close');
  const writer = (async () => {
    while (!stop && !stream.destroyed) if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), closed]);
  })();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const bytes = received - startBytes;
  const elapsedS = (performance.now() - started) / 1000;
  stop = true;
  const info = acceptor?.framing.streamInfo(stream.streamId);
  const rtt = dialer.rttMs;
  dialer.destroy();
  acceptor?.destroy();
  await writer.catch(() => {});
  relay.server.close();
  sink.close();
  return { window: config.label, mibPerS: bytes / elapsedS / (1024 * 1024), finalWindowBytes: info?.recvWindowBytes ?? 0, rttMs: rtt };
}

async function main(): Promise<void> {
  const rttMs = parseDuration(flag('delay', '50ms'));
  const seconds = Number(flag('seconds', '3'));
  const windows = flag('windows', '256KiB,1MiB,4MiB,16MiB').split(',').map(parseSize);
  const configs: Config[] = [
    ...windows.map((w) => ({ label: `fixed ${formatSize(w)}`, initialWindowBytes: w, maxWindowBytes: w, autoTune: false })),
    { label: 'auto-tuned 256KiB..16MiB', initialWindowBytes: 256 * 1024, maxWindowBytes: 16 * 1024 * 1024, autoTune: true },
  ];
  const rows: Row[] = [];
  for (const config of configs) {
    const r = await measure(config, rttMs, seconds);
    rows.push({ ...r, ratio: r.mibPerS / (rows[0]?.mibPerS ?? r.mibPerS) });
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ rttMs, seconds, rows }) + '\n');
    return;
  }
  process.stdout.write(`one stream, ${rttMs} ms added round trip, ${seconds} s each\n\n`);
  process.stdout.write(`${'window'.padEnd(26)}${'MiB/s'.padStart(9)}${'x first'.padStart(9)}   final window   measured RTT\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.window.padEnd(26)}${r.mibPerS.toFixed(1).padStart(9)}${r.ratio.toFixed(1).padStart(9)}   ${formatSize(r.finalWindowBytes).padEnd(13)}  ${r.rttMs === null ? '-' : `${r.rttMs.toFixed(1)} ms`}\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`window-experiment: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
