/**
 * Memory and CPU of a subject, read from /proc. A subject may be several processes (the tunnel
 * is a client and a server; socat forks per connection), so figures are summed over each
 * process tree.
 */
import { readFile, readdir } from 'node:fs/promises';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux ABI Node supports.

async function childrenOf(pid: number): Promise<number[]> {
  const kids: number[] = [];
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return kids;
  }
  for (const tid of tasks) {
    try {
      const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const part of text.trim().split(/\s+/)) if (part) kids.push(Number(part));
    } catch {
      // thread ended meanwhile
    }
  }
  return kids;
}

/** `roots` and all their descendants that are still alive. */
export async function processTree(roots: readonly number[]): Promise<number[]> {
  const seen = new Set<number>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...(await childrenOf(pid)));
  }
  return [...seen];
}

async function vmRssBytes(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = text.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Sum of VmRSS over the trees under `roots`. For a forking subject (socat) this counts shared
 * pages once per process, so it overstates; the report says so.
 */
export async function rssBytes(roots: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of await processTree(roots)) total += await vmRssBytes(pid);
  return total;
}

/**
 * Sum of proportional set sizes: shared pages divided among the processes sharing them. The
 * fair total for a forking subject; slower to read than VmRSS, so taken once, not sampled.
 */
export async function pssBytes(roots: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of await processTree(roots)) {
    try {
      const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
      const match = text.match(/^Pss:\s+(\d+)\s+kB/m);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // process ended meanwhile
    }
  }
  return total;
}

async function cpuTicks(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 after the name.
    return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0;
  }
}

/** User+system CPU seconds used so far by the trees under `roots` (reaped children included). */
export async function cpuSeconds(roots: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of await processTree(roots)) ticks += await cpuTicks(pid);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Samples RSS on an interval and keeps the peak. */
export class RssSampler {
  peakBytes = 0;
  lastBytes = 0;
  samples = 0;
  private timer: NodeJS.Timeout | null = null;
  private pending: Promise<number> | null = null;

  constructor(private readonly roots: readonly number[], private readonly intervalMs = 50) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  /** Takes the baseline reading (the peak starts from it), then samples on the interval; resolves with the baseline. */
  async startFromBaseline(): Promise<number> {
    const baseline = await this.sample();
    this.peakBytes = baseline;
    this.start();
    return baseline;
  }

  /** One reading now; joins the reading in progress rather than overlap it. */
  sample(): Promise<number> {
    this.pending ??= rssBytes(this.roots).then((bytes) => {
      this.pending = null;
      this.lastBytes = bytes;
      this.samples += 1;
      if (bytes > this.peakBytes) this.peakBytes = bytes;
      return bytes;
    });
    return this.pending;
  }

  /** Stops sampling after one last reading that starts after the call. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.pending) await this.pending;
    await this.sample();
  }
}

/** RSS growth of each process while `body` ran: bytes over the baseline and the baseline itself. */
export interface RssGrowth<T> {
  result: T;
  growthBytes: number[];
  baselineBytes: number[];
}

/**
 * Waits `settleMs` (a process just started is still growing), takes each process's baseline,
 * runs `body` while sampling every 50 ms, and reports each one's peak minus its baseline.
 */
export async function measureRss<T>(pids: readonly number[], body: () => Promise<T>, settleMs = 200): Promise<RssGrowth<T>> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const samplers = pids.map((pid) => new RssSampler([pid], 50));
  const baselines = await Promise.all(samplers.map((s) => s.startFromBaseline()));
  try {
    const result = await body();
    return { result, growthBytes: samplers.map((s, i) => s.peakBytes - baselines[i]!), baselineBytes: baselines };
  } finally {
    await Promise.all(samplers.map((s) => s.stop()));
  }
}
