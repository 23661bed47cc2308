import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * Descriptor accounting for the whole process, so that the data plane stops taking clients while
 * there are still descriptors left for /healthz, the metrics port and connects to the target:
 *
 *   0 ............................ limit - reserve ...... limit - reserve/2 ...... limit (EMFILE)
 *     data-plane listeners accept  | new clients closed   | management ports stop  |
 *                                  | at once (counted)    | growing (evict oldest) |
 *
 *   in use = untracked (from /proc/self/fd, recounted at most once a second) + sockets tracked live
 *
 * Counting /proc/self/fd costs about 0.7 ms per 1000 descriptors, too much for every accept, so
 * the sockets sluice accepts and connects are tracked as they open and close, and the recount
 * brings in everything else (spill files, pipes, sockets nobody tracked).
 */

/** The reserve is never below this many descriptors (but at most half the limit). */
export const FD_RESERVE_MIN = 32;

/** The reserve's share of the limit: 52 of 1024, 3277 of 65536 before the cap below. */
export const FD_RESERVE_SHARE = 0.05;

/** Nor above this many: with a limit of a million, a thousand spare descriptors are plenty. */
export const FD_RESERVE_MAX = 1024;

/** How often, at most, the real count is read from /proc/self/fd. */
export const FD_RECOUNT_MS = 1000;

/** The default reserve for a limit: max(32, 5%), at most 1024 and at most half the limit. */
export function defaultFdReserve(limit: number): number {
  const share = Math.min(FD_RESERVE_MAX, Math.ceil(limit * FD_RESERVE_SHARE));
  return Math.min(Math.floor(limit / 2), Math.max(FD_RESERVE_MIN, share));
}

/**
 * The soft limit on open files ("Max open files" in /proc/self/limits, or the `limitsText` given);
 * null when it cannot be read (not Linux) or is unlimited.
 */
export function readFdLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (m === null || m[1] === 'unlimited') return null;
  const limit = Number(m[1]);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : null;
}

/** Descriptors open in this process now (entries of /proc/self/fd); null where that cannot be read. */
export function countOpenFds(): number | null {
  try {
    // The listing itself holds one descriptor for the directory while it reads.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

/** How a reserve is set up; the defaults describe this process. */
export interface FdReserveOptions {
  /** The limit on open descriptors; null for none known (nothing is ever refused then). */
  limit: number | null;
  /** Descriptors the data plane leaves free; default `defaultFdReserve(limit)`. */
  reserve?: number;
  /** Reads the real number of open descriptors; default `countOpenFds`. */
  countOpen?: () => number | null;
  /** Least time between two real counts; default 1000 ms. */
  recountMs?: number;
  /** Clock for the recount, in ms. */
  now?: () => number;
}

/** The descriptor budget of one process: see the module comment. */
export class FdReserve {
  readonly limit: number | null;
  readonly reserve: number;
  private tracked = 0;
  private untracked = 0;
  private countedAt = -Infinity;
  private readonly countOpen: () => number | null;
  private readonly recountMs: number;
  private readonly now: () => number;

  constructor(options: FdReserveOptions) {
    this.limit = options.limit;
    this.reserve = options.reserve ?? (options.limit === null ? 0 : defaultFdReserve(options.limit));
    this.countOpen = options.countOpen ?? countOpenFds;
    this.recountMs = options.recountMs ?? FD_RECOUNT_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** Counts `socket` as holding a descriptor until it closes; once per socket (a set to make it idempotent cost a weak-map entry per connection). */
  track(socket: Socket): void {
    if (socket.closed) return;
    this.tracked++;
    // One handler shared by every socket ('close' comes once): no closure or once-wrapper each.
    socket.on('close', this.untrack);
  }

  private readonly untrack = (): void => {
    this.tracked--;
  };

  /** Descriptors in use, as best known: the last real count plus what tracked sockets did since. */
  get inUse(): number {
    if (this.limit !== null && this.now() - this.countedAt >= this.recountMs) {
      this.countedAt = this.now();
      const open = this.countOpen();
      if (open !== null) this.untracked = Math.max(0, open - this.tracked);
    }
    return this.untracked + this.tracked;
  }

  /** Whether a data-plane listener may keep one more connection: at least `reserve` stay free after it. */
  dataPlaneHasRoom(): boolean {
    return this.limit === null || this.inUse + 1 <= this.limit - this.reserve;
  }

  /** Whether a management port may grow by one: it may use half the reserve, the rest is for connects. */
  managementHasRoom(): boolean {
    return this.limit === null || this.inUse + 1 <= this.limit - Math.floor(this.reserve / 2);
  }
}

let processReserve: FdReserve | null = null;

/** The reserve of this process, set up from /proc/self/limits on first use (no limit elsewhere). */
export function processFdReserve(): FdReserve {
  processReserve ??= new FdReserve({ limit: readFdLimit() });
  return processReserve;
}
