/**
 * Tunnel throughput on loopback, beside the raw relay measured in the same run: one connection
 * and several at once, through `sluice relay` and through `sluice tunnel-client` ->
 * `sluice tunnel-server`, in interleaved rounds (relay, tunnel, relay, tunnel, ...) so slow drifts
 * of the machine hit both alike. The load is iperf3 when it is on PATH (one fresh server per
 * measurement, the first second left out), else a built-in generator. When the Go yamux peers can
 * be built (test/interop), Go's own yamux throughput with its default config is shown beside.
 *
 *   node dist/examples/tunnel-throughput.js [--seconds 4] [--rounds 3] [--streams 1,8] [--no-go] [--json]
 *
 * The figures are medians over the rounds; tunnel/relay is the median of the per-round ratios.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../proxy/cli.js', import.meta.url));

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Waits until something listens on 127.0.0.1:port, without connecting (iperf3 -1 would take a probe for its one test). */
async function waitForListening(port: number, timeoutMs = 5000): Promise<void> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const table = readFileSync('/proc/net/tcp', 'utf8');
    if (table.split('\n').some((l) => l.trim().split(/\s+/)[1] === local && l.trim().split(/\s+/)[3] === '0A')) return;
    if (performance.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a sluice command and resolves with its listening port once it printed the ready line. */
async function sluice(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, ...args, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    out += chunk as string;
    const m = / listening on [^\s]+:(\d+)\n/.exec(out);
    if (m) return { port: Number(m[1]), child };
  }
  throw new Error(`sluice ${args[0]} exited before it was ready`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, 'exit').then(() => undefined);
  child.kill('SIGINT');
  return exited;
}

function hasIperf3(): boolean {
  try {
    execFileSync('iperf3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One iperf3 measurement through `port` to a fresh one-test server on `serverPort`; Gbit/s received. */
async function iperf3(port: number, serverPort: number, streams: number, seconds: number): Promise<number> {
  const server = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(serverPort)], { stdio: 'ignore' });
  try {
    await waitForListening(serverPort);
    const client = spawn('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-O', '1', '-P', String(streams), '-J'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    client.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await once(client, 'exit');
    const result = JSON.parse(out) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    if (!result.end?.sum_received) throw new Error(`iperf3: ${result.error ?? 'no result'}`);
    return result.end.sum_received.bits_per_second / 1e9;
  } finally {
    await stop(server);
  }
}

/** The built-in load when iperf3 is missing: `streams` connections write 64 KiB chunks for `seconds` into a counting sink. */
async function builtin(port: number, sinkPort: number, streams: number, seconds: number): Promise<number> {
  let received = 0;
  const sink = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  sink.listen(sinkPort, '127.0.0.1');
  await once(sink, 'listening');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const sockets: Socket[] = [];
  let stopped = false;
  await Promise.all(
    Array.from({ length: streams }, async () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
      await once(s, 'connect');
      const pump = () => {
        while (!stopped && s.write(chunk));
      };
      s.on('drain', pump);
      pump();
    }),
  );
  await new Promise((r) => setTimeout(r, 1000)); // warm-up, left out like iperf3 -O 1
  const from = received;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const bits = (received - from) * 8;
  const elapsedS = (performance.now() - started) / 1000;
  stopped = true;
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => sink.close(() => r()));
  return bits / elapsedS / 1e9;
}

/** Go's own yamux throughput: the Go client sends to the Go server, which discards; Gbit/s. */
async function goYamux(streams: number, seconds: number): Promise<number | null> {
  let peers: typeof import('../scenarios/harness/go-peers.js');
  try {
    peers = await import('../scenarios/harness/go-peers.js');
  } catch {
    return null;
  }
  const built = await peers.buildGoPeers().catch(() => null);
  if (!built) return null;
  const server = await peers.startEchoServer(built.echoServer, { mode: 'discard', quiet: true });
  try {
    // Size the transfer so it lasts about `seconds` at a few Gbit/s.
    const bytes = Math.floor((seconds * 400 * 1024 * 1024) / streams);
    const r = await peers.runClient(built.client, server.address, { mode: 'send', streams, bytes });
    return r.ok ? (r.totals.sendMiBps * 1024 * 1024 * 8) / 1e9 : null;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const seconds = Number(flag('seconds', '4'));
  const rounds = Number(flag('rounds', '3'));
  const streamCounts = flag('streams', '1,8').split(',').map(Number);
  const useIperf3 = hasIperf3();
  const targetPort = await freePort();
  const relay = await sluice(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`]);
  const tunnelServer = await sluice(['tunnel-server', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`]);
  const tunnelClient = await sluice(['tunnel-client', '--listen', '127.0.0.1:0', '--server', `127.0.0.1:${tunnelServer.port}`]);
  const measure = (port: number, streams: number) => (useIperf3 ? iperf3 : builtin)(port, targetPort, streams, seconds);
  const rows: { streams: number; relay: number[]; tunnel: number[]; ratio: number[]; go: number | null }[] = [];
  try {
    for (const streams of streamCounts) rows.push({ streams, relay: [], tunnel: [], ratio: [], go: null });
    for (let round = 0; round < rounds; round++) {
      for (const row of rows) {
        const r = await measure(relay.port, row.streams);
        const t = await measure(tunnelClient.port, row.streams);
        row.relay.push(r);
        row.tunnel.push(t);
        row.ratio.push(t / r);
        process.stderr.write(`round ${round + 1}, ${row.streams} stream(s): relay ${r.toFixed(2)} Gbit/s, tunnel ${t.toFixed(2)} Gbit/s\n`);
      }
    }
    if (!process.argv.includes('--no-go')) for (const row of rows) row.go = await goYamux(row.streams, seconds);
  } finally {
    await Promise.all([stop(tunnelClient.child), stop(tunnelServer.child), stop(relay.child)]);
  }
  const summary = rows.map((row) => ({
    streams: row.streams,
    relayGbps: median(row.relay),
    tunnelGbps: median(row.tunnel),
    tunnelOverRelay: median(row.ratio),
    goYamuxGbps: row.go,
    rounds: { relay: row.relay, tunnel: row.tunnel },
  }));
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ load: useIperf3 ? 'iperf3' : 'built-in', seconds, rounds, rows: summary }) + '\n');
    return;
  }
  process.stdout.write(`load: ${useIperf3 ? 'iperf3' : 'built-in generator'}, ${seconds} s per measurement, ${rounds} interleaved rounds, medians\n\n`);
  process.stdout.write('connections   relay Gbit/s   tunnel Gbit/s   tunnel/relay   Go yamux Gbit/s\n');
  for (const s of summary) {
    process.stdout.write(
      `${String(s.streams).padEnd(14)}${s.relayGbps.toFixed(2).padStart(12)}${s.tunnelGbps.toFixed(2).padStart(16)}${s.tunnelOverRelay.toFixed(2).padStart(15)}${(s.goYamuxGbps === null ? '-' : s.goYamuxGbps.toFixed(2)).padStart(18)}\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`tunnel-throughput: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
