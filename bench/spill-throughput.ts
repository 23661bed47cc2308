/**
 * Spill throughput: how fast one connection's messages go to disk and come back, in order.
 *
 *   node dist/bench/spill-throughput.js [totalMiB=256] [dir=os.tmpdir()]
 *
 * Two shapes, each for 100 B, 1 KiB and 16 KiB messages:
 * - absorb-then-drain: the target is stalled, everything is spilled, then read back (the
 *   issue's "target reads nothing for a while" case); write and read rates are shown apart;
 * - streaming: a reader drains while the writer spills (a target slower than the producer).
 * MB/s counts message bytes (1 MB = 10^6 bytes) written and read back, over the wall time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpillStore, type SpillSpool } from '../proxy/spill/index.js';

const totalBytes = Number(process.argv[2] ?? 256) * 1024 * 1024;
const baseDir = process.argv[3] ?? tmpdir();

function message(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = i & 0xff;
  return b;
}

async function write(spool: SpillSpool, m: Buffer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    let answer = spool.append(m);
    while (answer === 'busy') {
      await spool.whenWritable();
      answer = spool.append(m);
    }
    if (answer !== 'ok') throw new Error(`spill refused a message: ${answer}`);
  }
  await spool.flush();
}

async function readBack(spool: SpillSpool, count: number, size: number, until: () => boolean): Promise<number> {
  let got = 0;
  for (;;) {
    const batch = await spool.read();
    for (const m of batch) if (m.length !== size) throw new Error(`message ${got} came back with ${m.length} bytes`);
    got += batch.length;
    spool.release(batch); // as a relay would once the target took them
    if (batch.length === 0) {
      if (until()) break;
      await new Promise((r) => setImmediate(r));
    }
  }
  if (got !== count) throw new Error(`read back ${got} of ${count} messages`);
  return got;
}

const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(0);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(baseDir, 'sluice-bench-spill-'));
  const store = await SpillStore.open({ dir, maxBytes: totalBytes * 2 });
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  console.log(`spill throughput, ${totalBytes / 1024 / 1024} MiB per run, in ${dir} (node ${process.version})`);
  try {
    for (const size of [100, 1024, 16 * 1024]) {
      const m = message(size);
      const count = Math.floor(totalBytes / size);
      const bytes = count * size;

      const spool = store.openSpool();
      const t0 = performance.now();
      await write(spool, m, count);
      const t1 = performance.now();
      await readBack(spool, count, size, () => true);
      const t2 = performance.now();
      await spool.close();
      console.log(
        `absorb-then-drain ${String(size).padStart(5)} B: write ${mbps(bytes, t1 - t0)} MB/s, read back ${mbps(bytes, t2 - t1)} MB/s, ` +
          `write+read back ${mbps(bytes, t2 - t0)} MB/s (${(count / ((t2 - t0) / 1000) / 1e6).toFixed(2)} M msg/s)`,
      );

      const streaming = store.openSpool();
      let written = false;
      const s0 = performance.now();
      await Promise.all([
        write(streaming, m, count).then(() => (written = true)),
        readBack(streaming, count, size, () => written && streaming.backlogMessages === 0),
      ]);
      const s1 = performance.now();
      await streaming.close();
      console.log(`streaming         ${String(size).padStart(5)} B: write+read back ${mbps(bytes, s1 - s0)} MB/s`);
    }
  } finally {
    clearInterval(sampler);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`peak RSS growth ${((peakRss - rss0) / 1024 / 1024).toFixed(1)} MiB`);
}

await main();
