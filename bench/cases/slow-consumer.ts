/**
 * One slow consumer: a producer pushes random bytes through the subject as fast as the subject
 * takes them, into a consumer that reads at a fixed rate. A relay that makes the consumer's
 * pace felt upstream keeps its memory flat; the figure is the subject's RSS growth (peak during
 * the transfer minus the level once ready), summed over its processes, and the largest growth of
 * one process (the tunnel's two sidecars each hold a window's worth: the per-sidecar figure is
 * the one to read there; a single-process subject shows the same number twice). Integrity is
 * checked with sha256.
 *
 *   producer (as fast as allowed) --> subject --> consumer (paced with pause/resume)
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { writeAllAndEnd } from '../../scenarios/harness/sockets.js';
import { RssSampler } from '../../scenarios/harness/proc-stats.js';
import type { BenchCase, CaseServer } from './types.js';
import { needsProcess } from './types.js';

const MB = 1e6;
const MiB = 1024 * 1024;
const WRITE_BYTES = 256 * 1024;

export function slowConsumerCase(totalBytes: number, rateBytesPerSecond: number): BenchCase {
  const id = 'slow-consumer';
  return {
    id,
    title: `Slow consumer, ${totalBytes / MiB} MiB at ${rateBytesPerSecond / MB} MB/s`,
    tool: 'built-in producer and paced consumer',
    metrics: [
      { id: `${id}.growth`, label: `Slow consumer ${totalBytes / MiB} MiB: RSS growth`, unit: 'MB', better: 'lower', digits: 1 },
      { id: `${id}.growth-max`, label: `Slow consumer ${totalBytes / MiB} MiB: RSS growth, largest process`, unit: 'MB', better: 'lower', digits: 1 },
    ],
    skip: needsProcess,
    async open(): Promise<CaseServer> {
      // Generated once per run so every subject carries the same bytes and the producer
      // never waits on the random generator.
      const payload = randomBytes(totalBytes);
      const expected = createHash('sha256').update(payload).digest('hex');
      let onConnection: ((socket: net.Socket) => void) | null = null;
      const consumer = net.createServer((socket) => {
        if (onConnection) onConnection(socket);
        else socket.destroy();
      });
      await new Promise<void>((resolve) => consumer.listen(0, '127.0.0.1', resolve));
      const port = (consumer.address() as net.AddressInfo).port;

      return {
        target: { host: '127.0.0.1', port },
        async measure(subject) {
          const sampler = new RssSampler(subject.pids);
          // Each process on its own as well: their peaks need not coincide.
          const perProcess = subject.pids.map((pid) => new RssSampler([pid]));
          await new Promise((r) => setTimeout(r, 200));
          const baseline = await sampler.startFromBaseline();
          const baselines = await Promise.all(perProcess.map((s) => s.startFromBaseline()));

          const expectedSeconds = totalBytes / rateBytesPerSecond;
          const timeoutMs = (expectedSeconds * 3 + 30) * 1000;
          let producer: net.Socket | null = null;
          let consumed: net.Socket | null = null;
          let timer: NodeJS.Timeout | undefined;
          const started = performance.now();
          try {
            const digest = await new Promise<string>((resolve, reject) => {
              timer = setTimeout(() => reject(new Error(`transfer not done after ${timeoutMs / 1000} s`)), timeoutMs);
              onConnection = (socket) => {
                onConnection = null;
                consumed = socket;
                readPaced(socket, totalBytes, rateBytesPerSecond).then(resolve, reject);
              };
              producer = net.connect(subject.address.port, subject.address.host);
              producer.on('error', reject);
              producer.on('connect', () => void writeAllAndEnd(producer!, payload, WRITE_BYTES).catch(() => {}));
            });
            const seconds = (performance.now() - started) / 1000;
            if (digest !== expected) throw new Error(`sha256 mismatch through ${subject.name}: got ${digest.slice(0, 12)}, want ${expected.slice(0, 12)}`);
            await sampler.stop();
            await Promise.all(perProcess.map((s) => s.stop()));
            const growths = perProcess.map((s, i) => (s.peakBytes - baselines[i]!) / MB);
            return {
              values: { [`${id}.growth`]: (sampler.peakBytes - baseline) / MB, [`${id}.growth-max`]: Math.max(...growths) },
              detail: {
                baselineMB: +(baseline / MB).toFixed(1),
                peakMB: +(sampler.peakBytes / MB).toFixed(1),
                growthByProcessMB: growths.map((g) => +g.toFixed(1)),
                seconds: +seconds.toFixed(2),
                consumedMBps: +(totalBytes / MB / seconds).toFixed(1),
                sha256: 'ok',
              },
            };
          } finally {
            clearTimeout(timer);
            onConnection = null;
            await sampler.stop();
            await Promise.all(perProcess.map((s) => s.stop()));
            (producer as net.Socket | null)?.destroy();
            (consumed as net.Socket | null)?.destroy();
          }
        },
        close: () => new Promise<void>((resolve) => consumer.close(() => resolve())),
      };
    },
  };
}


/** Reads `total` bytes no faster than `rate`, pausing the socket whenever it is ahead. */
export function readPaced(socket: net.Socket, total: number, rate: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const started = performance.now();
    let received = 0;
    let done = false;
    socket.on('error', reject);
    socket.on('end', () => {
      if (received < total) reject(new Error(`consumer saw the end after ${received} of ${total} bytes`));
    });
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      hash.update(chunk);
      received += chunk.length;
      if (received >= total) {
        done = true;
        resolve(hash.digest('hex'));
        return;
      }
      const aheadMs = (received / rate) * 1000 - (performance.now() - started);
      if (aheadMs >= 1) {
        socket.pause();
        setTimeout(() => socket.resume(), aheadMs);
      }
    });
  });
}
