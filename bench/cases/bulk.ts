/**
 * Bulk throughput over 1 or N connections: iperf3 when installed (what is checked from outside
 * the repo), else a built-in generator writing 64 KiB chunks into a counting sink.
 */
import net from 'node:net';
import { freePort, runToCompletion, spawnTracked, stopProcess, waitForListening } from '../processes.js';
import { ServerHandle } from '../servers/server-handle.js';
import type { Tools } from '../tools.js';
import type { BenchCase, CaseServer, MetricSpec } from './types.js';
import { withCpu } from './with-cpu.js';

const CHUNK_BYTES = 64 * 1024;
const OMIT_SECONDS = 1;

export function bulkCase(streams: number, seconds: number, tools: Tools): BenchCase {
  const id = `bulk-${streams}`;
  const metric: MetricSpec = {
    id,
    label: `Bulk, ${streams} connection${streams === 1 ? '' : 's'}`,
    unit: 'Gbit/s',
    better: 'higher',
    digits: 2,
  };
  const iperf3 = tools.iperf3.path;
  return {
    id,
    title: metric.label,
    tool: iperf3 ? `iperf3 ${tools.iperf3.version} -t ${seconds} -O ${OMIT_SECONDS} -P ${streams}` : `built-in generator, ${seconds} s`,
    metrics: [metric],
    open: () => (iperf3 ? openIperf3(iperf3, id, streams, seconds) : openBuiltin(id, streams, seconds)),
  };
}

interface Iperf3Result {
  error?: string;
  end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
}

async function openIperf3(bin: string, id: string, streams: number, seconds: number): Promise<CaseServer> {
  const port = await freePort();
  const server = spawnTracked(bin, ['-s', '-B', '127.0.0.1', '-p', String(port)]);
  await waitForListening(server, port, 5000);
  return {
    target: { host: '127.0.0.1', port },
    measure: (subject) =>
      withCpu(subject, async () => {
        // -O 1: leave the first second (slow start, a fresh Node relay's JIT warm-up) out of the figure.
        const args = ['-c', subject.address.host, '-p', String(subject.address.port), '-t', String(seconds), '-O', String(OMIT_SECONDS), '-P', String(streams), '-J'];
        // iperf3's server takes one test at a time and may still be tearing the last one down.
        for (let attempt = 1; ; attempt++) {
          let out: string;
          try {
            out = await runToCompletion(bin, args, (seconds + 30) * 1000);
          } catch (err) {
            out = (err as { stdout?: string }).stdout ?? '';
            if (!out.includes('busy') || attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          const result = JSON.parse(out) as Iperf3Result;
          const bps = result.end?.sum_received?.bits_per_second;
          if (result.error || bps === undefined) throw new Error(`iperf3: ${result.error ?? 'no sum_received in its output'}`);
          return { values: { [id]: bps / 1e9 }, detail: { retransmits: result.end?.sum_sent?.retransmits ?? null } };
        }
      }),
    close: () => stopProcess(server),
  };
}

async function openBuiltin(id: string, streams: number, seconds: number): Promise<CaseServer> {
  const sink = await ServerHandle.start('sink');
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
  return {
    target: { host: '127.0.0.1', port: sink.port },
    measure: (subject) =>
      withCpu(subject, async () => {
        await sink.ask({ type: 'reset' });
        let stopped = false;
        const sockets = Array.from({ length: streams }, () => {
          const socket = net.connect(subject.address.port, subject.address.host);
          socket.setNoDelay(true);
          const write = (): void => {
            while (!stopped && socket.write(chunk));
          };
          socket.on('connect', write);
          socket.on('drain', write);
          socket.on('error', () => {});
          return socket;
        });
        await new Promise((r) => setTimeout(r, seconds * 1000));
        // Read the count before closing, so teardown is not part of the figure.
        const stats = await sink.ask({ type: 'stats' });
        stopped = true;
        for (const s of sockets) s.destroy();
        const ms = stats.lastByteAt! - stats.firstByteAt!;
        if (!stats.bytes || ms <= 0) throw new Error('no data reached the sink');
        return { values: { [id]: (stats.bytes * 8) / (ms / 1000) / 1e9 } };
      }),
    close: () => sink.close(),
  };
}
