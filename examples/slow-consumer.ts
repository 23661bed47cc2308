/**
 * A fast producer, a slow consumer, and two relays between them: one that ignores write()'s
 * return value (what a naive `a.on('data', d => b.write(d))` does) and sluice. Same load through
 * both; each relay runs in its own process so its memory can be read on its own. Prints both
 * resident sizes second by second: the naive one grows with everything the producer sends,
 * sluice stays flat at its window.
 *
 *   node dist/examples/slow-consumer.js [--seconds 8] [--consumer-rate 4MiB]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseSize, RelayServer } from '../proxy/index.js';

const SELF = fileURLToPath(import.meta.url);

/** Role of a child process: relay from its port to the consumer's. */
async function runRelay(kind: 'naive' | 'sluice', targetPort: number): Promise<void> {
  if (kind === 'sluice') {
    const server = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'tcp', host: '127.0.0.1', port: targetPort } });
    const address = await server.listen();
    process.stdout.write(`ready ${address.kind === 'tcp' ? address.port : 0}\n`);
    return;
  }
  const server = createServer((client) => {
    const target = connect(targetPort, '127.0.0.1');
    client.on('data', (d) => target.write(d)); // the bug: write() returning false is ignored
    target.on('data', (d) => client.write(d));
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`ready ${typeof a === 'object' && a ? a.port : 0}\n`);
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function startRelayProcess(kind: 'naive' | 'sluice', targetPort: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SELF, '--role', kind, '--target-port', String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} relay exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve({ child, port: Number(/ready (\d+)/.exec(String(d))?.[1]) }));
  });
}

/** A consumer that takes at most `bytesPerS`, pausing its socket between allowances. */
function slowConsumer(bytesPerS: number): ReturnType<typeof createServer> {
  return createServer((s) => {
    const started = performance.now();
    let taken = 0;
    s.on('data', (d: Buffer) => {
      taken += d.length;
      const aheadMs = (taken / bytesPerS) * 1000 - (performance.now() - started);
      if (aheadMs > 1) {
        s.pause();
        setTimeout(() => s.resume(), aheadMs);
      }
    });
    s.on('error', () => {});
  });
}

/** Writes as fast as the socket accepts until `stop()`. */
function producer(port: number): { stop: () => void; sentBytes: () => number } {
  const socket: Socket = connect(port, '127.0.0.1');
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let sent = 0;
  let stopped = false;
  const pump = () => {
    while (!stopped && socket.write(chunk)) sent += chunk.length;
    if (!stopped) sent += chunk.length;
  };
  socket.on('connect', pump);
  socket.on('drain', pump);
  socket.on('error', () => {});
  return {
    stop: () => {
      stopped = true;
      socket.destroy();
    },
    sentBytes: () => sent,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
  };
  const role = arg('role', '');
  if (role === 'naive' || role === 'sluice') return runRelay(role, Number(arg('target-port', '0')));

  const seconds = Number(arg('seconds', '8'));
  const consumerRate = parseSize(arg('consumer-rate', '4MiB'));
  // The naive relay would grow until the machine gives out; stop the demo well before that.
  const capMiB = Number(arg('cap-mib', '1024'));

  const consumer = slowConsumer(consumerRate);
  await new Promise<void>((r) => consumer.listen(0, '127.0.0.1', () => r()));
  const targetPort = (consumer.address() as { port: number }).port;
  const relays = { naive: await startRelayProcess('naive', targetPort), sluice: await startRelayProcess('sluice', targetPort) };
  const base = { naive: rssMiB(relays.naive.child.pid!), sluice: rssMiB(relays.sluice.child.pid!) };
  const producers = { naive: producer(relays.naive.port), sluice: producer(relays.sluice.port) };

  console.log(`producer: as fast as it can; consumer: ${arg('consumer-rate', '4MiB')}/s; ${seconds} s`);
  console.log('second  naive relay RSS  sluice RSS   (growth since start)');
  const peak = { naive: 0, sluice: 0 };
  for (let t = 1; t <= seconds; t++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = { naive: rssMiB(relays.naive.child.pid!), sluice: rssMiB(relays.sluice.child.pid!) };
    peak.naive = Math.max(peak.naive, now.naive - base.naive);
    peak.sluice = Math.max(peak.sluice, now.sluice - base.sluice);
    console.log(`${String(t).padStart(6)}  ${`+${(now.naive - base.naive).toFixed(1)} MiB`.padStart(15)}  ${`+${(now.sluice - base.sluice).toFixed(1)} MiB`.padStart(10)}`);
    if (now.naive > capMiB) {
      console.log(`naive relay passed ${capMiB} MiB: stopping early`);
      break;
    }
  }
  for (const p of Object.values(producers)) p.stop();
  for (const r of Object.values(relays)) {
    r.child.removeAllListeners('exit');
    r.child.kill();
  }
  consumer.close();
  console.log(`peak growth: naive +${peak.naive.toFixed(1)} MiB, sluice +${peak.sluice.toFixed(1)} MiB`);
  console.log(`sent: naive ${(producers.naive.sentBytes() / 2 ** 20).toFixed(0)} MiB accepted from the producer, sluice ${(producers.sluice.sentBytes() / 2 ** 20).toFixed(0)} MiB (held to the consumer's pace)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
