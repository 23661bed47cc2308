/**
 * Bulk throughput over 1 or N connections: iperf3 when installed (what is checked from outside
 * the repo), else a built-in generator writing 64 KiB chunks into a counting sink.
 */
import net from 'node:net';
import { freePort, runToCompletion, spawnTracked, stopProcess, waitForListening } from '../../scenarios/harness/processes.js';
import { ServerHandle } from '../servers/server-handle.js';
import type { Tools } from '../tools.js';
import type { BenchCase, CaseServer, MetricSpec } from './types.js';
import { cpuMetric, withCpu } from './with-cpu.js';

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
    tool: iperf3 ? `iperf3 ${tools.iperf3.version} -t ${seconds} -O ${OMIT_SECONDS} -P ${streams}` : `built-in generator, ${seconds} s after ${OMIT_SECONDS} s warm-up`,
    metrics: [metric, cpuMetric(id, metric.label, 'CPU s/GB', 2)],
    open: () => (iperf3 ? openIperf3(iperf3, id, streams, seconds) : openBuiltin(id, streams, seconds)),
  };
}

interface Iperf3Result {
  error?: string;
  end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
  intervals?: { sum: { bytes: number } }[];
}

async function openIperf3(bin: string, id: string, streams: number, seconds: number): Promise<CaseServer> {
  const port = await freePort();
  return {
    target: { host: '127.0.0.1', port },
    measure: (subject) =>
      withCpu(subject, id, 1, async () => {
        // A fresh one-test server (-1) per measurement: a long-lived iperf3 server that got
        // into a bad state would fail every later measurement of the case.
        const server = spawnTracked(bin, ['-s', '-1', '-B', '127.0.0.1', '-p', String(port)]);
        try {
          await waitForListening(server, port, 5000);
          // -O 1: leave the first second (slow start, a fresh Node relay's JIT warm-up) out of the figure.
          const args = ['-c', subject.address.host, '-p', String(subject.address.port), '-t', String(seconds), '-O', String(OMIT_SECONDS), '-P', String(streams), '-J'];
          let out: string;
          try {
            out = await runToCompletion(bin, args, (seconds + OMIT_SECONDS + 30) * 1000);
          } catch (err) {
            // With -J, iperf3 reports its error inside the JSON on stdout.
            const stdout = (err as { stdout?: string }).stdout ?? '';
            throw new Error(`iperf3: ${iperf3Error(stdout) ?? (err as Error).message}`);
          }
          const result = JSON.parse(out) as Iperf3Result;
          const bps = result.end?.sum_received?.bits_per_second;
          if (result.error || bps === undefined) throw new Error(`iperf3: ${result.error ?? 'no sum_received in its output'}`);
          // Bytes over the whole run, omitted second included, since the CPU figure covers it too.
          const bytes = (result.intervals ?? []).reduce((sum, i) => sum + i.sum.bytes, 0);
          return { values: { [id]: bps / 1e9 }, detail: { retransmits: result.end?.sum_sent?.retransmits ?? null }, units: bytes / 1e9 };
        } finally {
          await stopProcess(server, 1000);
        }
      }),
    close: async () => {},
  };
}

function iperf3Error(stdout: string): string | null {
  try {
    return (JSON.parse(stdout) as Iperf3Result).error ?? null;
  } catch {
    return null;
  }
}

async function openBuiltin(id: string, streams: number, seconds: number): Promise<CaseServer> {
  const sink = await ServerHandle.start('sink');
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
  return {
    target: { host: '127.0.0.1', port: sink.port },
    measure: (subject) =>
      withCpu(subject, id, 1, async () => {
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
        // Like iperf3 -O: the first second (a fresh relay's warm-up) is left out of the figure.
        await new Promise((r) => setTimeout(r, OMIT_SECONDS * 1000));
        const from = await sink.ask({ type: 'stats' });
        await new Promise((r) => setTimeout(r, seconds * 1000));
        // Read the count before closing, so teardown is not part of the figure.
        const to = await sink.ask({ type: 'stats' });
        stopped = true;
        for (const s of sockets) s.destroy();
        const bytes = to.bytes! - from.bytes!;
        const ms = to.lastByteAt! - from.lastByteAt!;
        if (!from.bytes || bytes <= 0 || ms <= 0) throw new Error('no data reached the sink');
        return { values: { [id]: (bytes * 8) / (ms / 1000) / 1e9 }, units: to.bytes! / 1e9 };
      }),
    close: () => sink.close(),
  };
}
