/**
 * Concurrent idle connections (1000, and 10 000) through the subject to a server that never
 * writes: what each held connection costs the subject in memory, and how fast it lets a burst
 * through. Where the descriptor limit cannot hold the nominal count (each connection is two
 * descriptors in a relay), fewer are opened and the RSS figure is scaled to the nominal count
 * from the measured cost per connection; the detail keeps what was measured. A subject with a
 * documented limit below the count (the tunnel's streams per link) is not measured, and the table
 * says why; one that closes connections it accepted fails at once, saying how many got through,
 * instead of waiting out the timeout.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { processTree, pssBytes, RssSampler } from '../../scenarios/harness/proc-stats.js';
import { ServerHandle } from '../servers/server-handle.js';
import type { Address, Subject } from '../subjects/index.js';
import type { BenchCase, CaseServer } from './types.js';

const MB = 1e6;
/**
 * Connects outstanding at once. Below every subject's listen backlog (511), so the figure is
 * the subject's accept-and-connect rate, not SYN retransmits after a full queue.
 */
const MAX_CONNECTING = 100;
const SETTLE_MS = 500;
/** Coarse: the figure is the level once all are open, and reading /proc for a thousand socat forks is not free. */
const SAMPLE_INTERVAL_MS = 250;
const THROUGH_TIMEOUT_MS = 60_000;

export interface IdleCaseShape {
  /** Case id; default `idle-${count}`. */
  id?: string;
  /** The count the figures are for; default `count`. RSS is scaled to it when `count` is smaller. */
  nominal?: number;
  /** Why `count` is below `nominal` (the descriptor limit), for the tool line. */
  limitedBy?: string;
  /** Subjects not measured here, with why. */
  skip?: Record<string, string>;
}

export function idleConnsCase(count: number, shape: IdleCaseShape = {}): BenchCase {
  const id = shape.id ?? `idle-${count}`;
  const nominal = shape.nominal ?? count;
  const shown = nominal.toLocaleString('en-US').replace(/,/g, ' ');
  const scaled = nominal !== count;
  return {
    id,
    title: `${shown} idle connections`,
    tool: `built-in, ${MAX_CONNECTING} connects in flight${scaled ? `; ${count} opened (${shape.limitedBy ?? 'descriptor limit'}), RSS scaled to ${nominal} by the measured cost per connection` : ''}`,
    metrics: [
      { id: `${id}.rss`, label: `${shown} idle conns: RSS total`, unit: 'MB', better: 'lower', digits: 1 },
      { id: `${id}.rate`, label: `${shown} idle conns: accept rate`, unit: 'conn/s', better: 'higher', digits: 0 },
    ],
    skip: (subject) => shape.skip?.[subject.name] ?? beyondLimit(subject, count, nominal),
    async open(): Promise<CaseServer> {
      const idle = await ServerHandle.start('idle');
      // A fresh Node process takes several times longer over its first thousand connections;
      // warm the idle server (and this process) so only the subject's cold start is measured.
      const warm = await openAll({ host: '127.0.0.1', port: idle.port }, count);
      if (warm.failed) throw warm.failed;
      await idle.ask({ type: 'await-accepted', count });
      for (const s of warm.sockets) s.destroy();
      await idle.ask({ type: 'drop-all' });
      return {
        target: { host: '127.0.0.1', port: idle.port },
        async measure(subject) {
          await idle.ask({ type: 'reset' });
          const sampler = new RssSampler(subject.pids, SAMPLE_INTERVAL_MS);
          await new Promise((r) => setTimeout(r, 200));
          const baseline = await sampler.startFromBaseline();

          const through = idle.ask({ type: 'await-accepted', count });
          const startedAt = performance.timeOrigin + performance.now();
          const closes = new CloseWatch();
          const { sockets, failed } = await openAll(subject.address, count, closes.onClose);
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), THROUGH_TIMEOUT_MS);
          });
          try {
            if (failed) throw failed;
            const reply = await Promise.race([through, timeout, closes.first]);
            if (reply === 'timeout' || reply === 'closed') {
              // Closes come in bursts (a limit's wait ending for many at once): count the whole burst.
              if (reply === 'closed') await new Promise((r) => setTimeout(r, SETTLE_MS));
              const { accepted } = await idle.ask({ type: 'stats' });
              throw new Error(
                reply === 'timeout'
                  ? `not all ${count} connections reached the server in ${THROUGH_TIMEOUT_MS} ms (${accepted} did)`
                  : `${subject.name} closed ${closes.count} of the ${count} connections before all reached the server (${accepted} did): it holds fewer at once`,
              );
            }
            await new Promise((r) => setTimeout(r, SETTLE_MS));
            const rss = await sampler.sample();
            const pss = await pssBytes(subject.pids);
            const processes = (await processTree(subject.pids)).length;
            await sampler.stop();
            // A subject that forks per connection (socat) shares most pages among its forks;
            // summing VmRSS would count them a thousand times, so it is charged its Pss instead.
            // Node subjects keep VmRSS: their Pss would be lowered by pages shared with the
            // bench's own Node processes, which a real deployment does not have.
            const forked = processes > subject.pids.length;
            const total = forked ? pss : rss;
            const seconds = (reply.lastAcceptAt! - startedAt) / 1000;
            const values: Record<string, number> = { [`${id}.rate`]: count / seconds };
            const perConn = (total - baseline) / count;
            if (subject.pids.length) values[`${id}.rss`] = (total + (scaled ? perConn * (nominal - count) : 0)) / MB;
            return {
              values,
              detail: subject.pids.length
                ? {
                    baselineMB: +(baseline / MB).toFixed(1),
                    peakMB: +(sampler.peakBytes / MB).toFixed(1),
                    perConnKB: +(perConn / 1000).toFixed(1),
                    opened: count,
                    measuredMB: +(total / MB).toFixed(1),
                    vmRssMB: +(rss / MB).toFixed(1),
                    pssMB: +(pss / MB).toFixed(1),
                    charged: forked ? 'Pss' : 'VmRSS',
                    processes,
                  }
                : {},
            };
          } finally {
            clearTimeout(timer);
            closes.stop();
            await sampler.stop();
            for (const s of sockets) s.destroy();
            await idle.ask({ type: 'drop-all' });
          }
        },
        close: () => idle.close(),
      };
    },
  };
}

/** Why a subject is not measured here: it holds fewer connections at once than the case opens; null when it can hold them. */
function beyondLimit(subject: Subject, count: number, nominal: number): string | null {
  const limit = subject.connectionLimit;
  if (!limit || limit.count >= count) return null;
  return `holds at most ${limit.count} connections at once (${limit.why}), ${count} needed; --sluice-args "--max-streams ${Math.max(count, nominal)}" measures it`;
}

/** Counts connections the subject closed while the case holds them; `first` resolves at the first. */
class CloseWatch {
  count = 0;
  readonly first: Promise<'closed'>;
  private resolveFirst!: (value: 'closed') => void;
  private watching = true;

  constructor() {
    this.first = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  readonly onClose = (): void => {
    if (!this.watching) return;
    this.count += 1;
    this.resolveFirst('closed');
  };

  /** The case closes them itself from here on. */
  stop(): void {
    this.watching = false;
  }
}

/**
 * Opens `count` connections, at most MAX_CONNECTING at a time; stops at the first error.
 * `onClose` hears of every one that closes afterwards.
 */
async function openAll(address: Address, count: number, onClose?: () => void): Promise<{ sockets: net.Socket[]; failed: Error | null }> {
  const sockets: net.Socket[] = [];
  let failed: Error | null = null;
  await new Promise<void>((resolve) => {
    let connecting = 0;
    const next = (): void => {
      while (connecting < MAX_CONNECTING && sockets.length < count && !failed) {
        connecting += 1;
        const socket = net.connect(address.port, address.host);
        sockets.push(socket);
        socket.once('connect', () => {
          connecting -= 1;
          if (sockets.length === count && connecting === 0) resolve();
          next();
        });
        socket.on('error', (err) => {
          failed ??= err;
          resolve();
        });
        if (onClose) socket.on('close', onClose);
      }
    };
    next();
  });
  return { sockets, failed };
}
