import type { Server, Socket } from 'node:net';
import { processFdReserve, type FdReserve } from './fd-reserve.js';
import { formatAddress } from './address.js';
import { listeningAddress } from './listen.js';

/**
 * Why a connection was refused or an accept failed, the `reason` of `sluice_accept_errors_total`:
 * - `emfile`, `enfile`: accept failed, the process (or the system) is out of descriptors;
 * - `other`: accept failed for another reason (ENOBUFS, ENOMEM, ...);
 * - `fd-reserve`: a data-plane client was closed at once to keep descriptors in reserve;
 * - `management-full`: a management port was at its connection cap and nothing could make room
 *   (every connection answering or just arrived): the newcomer was closed;
 * - `management-evicted`: a management connection that was idle or had not finished its request
 *   was closed to make room for a newcomer (a slowloris shows here).
 */
export const ACCEPT_ERROR_REASONS = ['emfile', 'enfile', 'other', 'fd-reserve', 'management-full', 'management-evicted'] as const;

/** One of ACCEPT_ERROR_REASONS. */
export type AcceptErrorReason = (typeof ACCEPT_ERROR_REASONS)[number];

/** Counts of refused and failed accepts by reason. */
export class AcceptErrorCounts {
  private readonly counts = new Map<AcceptErrorReason, number>(ACCEPT_ERROR_REASONS.map((r) => [r, 0]));

  /** Adds one for `reason`. */
  add(reason: AcceptErrorReason): void {
    this.counts.set(reason, this.get(reason) + 1);
  }

  /** The count for `reason`. */
  get(reason: AcceptErrorReason): number {
    return this.counts.get(reason) ?? 0;
  }

  /** Every reason with its count, zeros included (so a rate can be taken from the start). */
  entries(): [AcceptErrorReason, number][] {
    return [...this.counts.entries()];
  }
}

/** This process's counts, served as `sluice_accept_errors_total` by `registerProcessMetrics`. */
export const processAcceptErrors = new AcceptErrorCounts();

/** A sidecar's accept accounting: where its notices go, its descriptor budget and counts (defaults: this process's). */
export interface ListenerAccounting {
  /** One-line notices (a full spill disk, the first refused or failed accept of each kind); default: nowhere. */
  onNotice?: (text: string) => void;
  /** Descriptor budget; default `processFdReserve()`. */
  fdReserve?: FdReserve;
  /** Where refused and failed accepts are counted; default `processAcceptErrors`. */
  acceptErrors?: AcceptErrorCounts;
}

/** An accept guard for `server` named `name`, from a sidecar's accounting options. */
export function guardListener(server: Server, name: string, accounting: ListenerAccounting): AcceptGuard {
  return new AcceptGuard(server, {
    name,
    ...(accounting.onNotice ? { onNotice: accounting.onNotice } : {}),
    ...(accounting.fdReserve ? { fds: accounting.fdReserve } : {}),
    ...(accounting.acceptErrors ? { acceptErrors: accounting.acceptErrors } : {}),
  });
}

/** What an accept guard needs besides its server; the defaults are this process's. */
export interface AcceptGuardOptions {
  /** Names the listener in log lines: "relay listener", "metrics port", ... */
  name: string;
  /** Where the first refusal or failure of each kind is told, once (one line). */
  onNotice?: (text: string) => void;
  fds?: FdReserve;
  acceptErrors?: AcceptErrorCounts;
}

/**
 * Watches one listener's accepts. Node reports a failed accept as the server's 'error' (with
 * no listener that kills the process): it is counted here instead, by reason. Under EMFILE
 * libuv itself accepts and closes what is pending with a spare descriptor and reports nothing,
 * so the real defence is `admit`: data-plane listeners close new clients themselves, counted,
 * while the process still has its descriptor reserve. The first of each kind is told once.
 */
export class AcceptGuard {
  readonly name: string;
  readonly fds: FdReserve;
  readonly acceptErrors: AcceptErrorCounts;
  private readonly told = new Set<string>();
  private readonly onNotice: ((text: string) => void) | undefined;

  constructor(
    private readonly server: Server,
    options: AcceptGuardOptions,
  ) {
    this.name = options.name;
    this.onNotice = options.onNotice;
    this.fds = options.fds ?? processFdReserve();
    this.acceptErrors = options.acceptErrors ?? processAcceptErrors;
    server.on('error', this.onServerError);
  }

  /** Stops watching the server (it was handed to another owner, which guards it itself). */
  detach(): void {
    this.server.off('error', this.onServerError);
  }

  /** Watches the server again (handed back by an owner that could not start). */
  attach(): void {
    this.server.on('error', this.onServerError);
  }

  /**
   * For a data-plane listener, first thing on a new connection: true to keep it; false when the
   * process is inside its descriptor reserve, and then the socket is already closed and counted.
   */
  admit(socket: Socket): boolean {
    if (this.fds.dataPlaneHasRoom()) return true;
    socket.destroy();
    this.count(
      'fd-reserve',
      `${this.fds.inUse} of ${this.fds.limit} descriptors in use: new clients are closed at once while fewer than ${this.fds.reserve} are free (kept for /healthz, metrics and connects to the target)`,
    );
    return false;
  }

  /** Counts `socket` as holding a descriptor until it closes (the socket that ends up owning it). */
  track(socket: Socket): void {
    this.fds.track(socket);
  }

  /** Counts a connection refused or lost for `reason`; the first of each kind is told with `detail`. */
  count(reason: AcceptErrorReason, detail: string): void {
    this.acceptErrors.add(reason);
    this.tellOnce(reason, `${detail}; further ones are counted in sluice_accept_errors_total{reason="${reason}"}`);
  }

  /** Tells `text` (prefixed with the listener) the first time `kind` happens, and never again. */
  private tellOnce(kind: string, text: string): void {
    if (this.told.has(kind)) return;
    this.told.add(kind);
    this.onNotice?.(`${this.describe()}: ${text}`);
  }

  private readonly onServerError = (err: NodeJS.ErrnoException): void => {
    // An error while not listening is a listen error: listenOn rejects with it.
    if (err.syscall !== 'accept' && !this.server.listening) return;
    const code = err.code ?? 'unknown';
    const reason: AcceptErrorReason = code === 'EMFILE' ? 'emfile' : code === 'ENFILE' ? 'enfile' : 'other';
    this.count(reason, `accept failed (${code}${reason === 'other' ? `: ${err.message}` : ', out of descriptors'}): a client was turned away unanswered`);
  };

  private describe(): string {
    try {
      return `${this.name} ${formatAddress(listeningAddress(this.server))}`;
    } catch {
      return this.name;
    }
  }
}
