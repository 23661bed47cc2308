/**
 * A protocol experiment: how does a client's request deadline and retry policy hold up against a
 * slow and a flaky server? A tiny request/response protocol (`PING\n` -> `PONG\n`, one connection
 * per request) runs through a sluice RelayServer whose toxics change per row: added latency, jitter
 * that crosses the deadline, a share of connections reset (`reset_peer`, by toxicity), and both.
 *
 *   client (deadline D, up to N attempts, backoff) --> RelayServer + toxics --> PONG server
 *
 *   node dist/examples/toxics-retry.js [--requests 40] [--deadline 150] [--attempts 3]
 *
 * Prints one row per toxic set: requests that succeeded, attempts per request, and the p50 / p99
 * time to an answer (retries included). The toxicity draws use a seeded random, so runs repeat.
 */
import { once } from 'node:events';
import { createServer, connect, type Server } from 'node:net';
import { parseToxicSpec, RelayServer, toxicObjectFromFlag, type ToxicSpec } from '../proxy/index.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A small deterministic random (mulberry32), so the toxicity draws repeat from run to run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One attempt: connect, ask, wait for the answer until the deadline; false on a timeout or a reset. */
function attempt(port: number, deadlineMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), deadlineMs);
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
      if (answer.includes('\n')) finish(answer === 'PONG\n');
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.write('PING\n');
  });
}

interface Row {
  label: string;
  succeeded: number;
  attempts: number;
  p50: number;
  p99: number;
}

async function run(label: string, toxics: ToxicSpec[], pongPort: number, o: { requests: number; deadlineMs: number; attempts: number }): Promise<Row> {
  const relay = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'tcp', host: '127.0.0.1', port: pongPort }, toxics, random: seeded(7) });
  const address = await relay.listen();
  const port = address.kind === 'tcp' ? address.port : 0;
  let succeeded = 0;
  let attempts = 0;
  const times: number[] = [];
  for (let r = 0; r < o.requests; r++) {
    const started = performance.now();
    for (let a = 1; a <= o.attempts; a++) {
      attempts++;
      if (await attempt(port, o.deadlineMs)) {
        succeeded++;
        times.push(performance.now() - started);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** a)); // backoff 20, 40, ... ms
    }
  }
  await relay.shutdown(0);
  times.sort((a, b) => a - b);
  const q = (p: number) => (times.length ? times[Math.min(times.length - 1, Math.floor(p * times.length))]! : NaN);
  return { label, succeeded, attempts, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  const o = { requests: flag('requests', 40), deadlineMs: flag('deadline', 150), attempts: flag('attempts', 3) };
  const pong = createServer((s) => {
    s.on('data', () => s.write('PONG\n'));
    s.on('error', () => {});
  });
  const pongPort = await listen(pong);
  const toxics = (...flags: string[]) => flags.map((f) => parseToxicSpec(toxicObjectFromFlag(f)));
  const rows = [
    await run('none', [], pongPort, o),
    await run('latency 100', toxics('latency:downstream:latency=100'), pongPort, o),
    await run('latency 100 jitter 80', toxics('latency:downstream:latency=100,jitter=80'), pongPort, o),
    await run('reset_peer on 30%', toxics('reset_peer:upstream:timeout=0,toxicity=0.3'), pongPort, o),
    await run('latency 100 + reset 30%', toxics('latency:downstream:latency=100', 'reset_peer:upstream:timeout=0,toxicity=0.3'), pongPort, o),
  ];
  pong.close();
  console.log(`deadline ${o.deadlineMs} ms, up to ${o.attempts} attempts, ${o.requests} requests per row`);
  console.log('toxics                    ok     attempts/request  p50 ms  p99 ms');
  for (const r of rows) {
    console.log(`${r.label.padEnd(24)} ${`${r.succeeded}/${o.requests}`.padStart(6)}  ${(r.attempts / o.requests).toFixed(2).padStart(16)}  ${r.p50.toFixed(0).padStart(6)}  ${r.p99.toFixed(0).padStart(6)}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
