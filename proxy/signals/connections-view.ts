/**
 * What `GET /connections` answers: the open connections as plain JSON, busiest first (held back,
 * then most buffered), cut to `?limit=` so 10 000 connections never make a 10 MB answer. The
 * sidecars build it (ConnectionTable.connections); the metrics port only serves it.
 */
import type { HoldReason } from '../../windowing/hold-ledger.js';

/** `?limit=` when the request does not say, and the most it may ask for. */
export const CONNECTIONS_LIMITS = {
  // A screenful and then some: the page shows this many rows.
  defaultLimit: 100,
  // About 1 KB of JSON each: 1 MB at most per answer, a few ms to build.
  maxLimit: 1000,
} as const;

/** One direction of a relaying connection (client to target, or back). */
export interface DirectionView {
  /** Bytes read from the source. */
  bytes: number;
  /** Bytes the sink has flushed onward. */
  deliveredBytes: number;
  /** Bytes read and not yet flushed: in the stages and in the sink's buffer. */
  bufferedBytes: number;
  /** The window the buffered bytes are held to now (the configured one, shrunk as the memory budget fills). */
  windowBytes: number;
  /** True while the source is not read. */
  held: boolean;
  /** Why it is held now: window, rate, disk, toxic. */
  holdReasons: HoldReason[];
  /** How long the hold in progress has lasted (0 when not held). */
  heldForMs: number;
  /** Time held back in total, the hold in progress included. */
  heldBackMs: number;
  /** Times the source went from read to held. */
  pauses: number;
}

/** Message mode (client to target): what went through, what was dropped, what waits in RAM and on disk. */
export interface MessagesView {
  forwarded: number;
  dropped: number;
  droppedByReason: Record<string, number>;
  queuedMessages: number;
  queuedBytes: number;
  /** Messages set aside on disk (spill) and not yet read back. */
  spilledMessages: number;
  spilledBytes: number;
}

/** A tunnel stream carrying one side of the connection, with its yamux windows. */
export interface StreamView {
  /** The stream id on the wire. */
  id: number;
  /** Which side of the connection the stream is: `client` (tunnel-server) or `target` (tunnel-client). */
  side: 'client' | 'target';
  /** Credit the peer has granted and we have not used. */
  sendWindowBytes: number;
  /** Our receive window (auto-tuned). */
  recvWindowBytes: number;
  /** Bytes received and not yet taken onward. */
  recvBufferedBytes: number;
}

/** Where a connection is in its life: waiting for its PROXY header, for a slot, for its target, or relaying. */
export type ConnectionPhase = 'header' | 'queued' | 'opening' | 'relaying';

/** One open connection. */
export interface ConnectionView {
  /** Its id in the access log. */
  id: number;
  /** The proxy it belongs to, where one process runs several (`sluice serve`, the demo's strategies). */
  proxy?: string;
  /** The worker process that holds it, with `--workers` (ids are per worker). */
  worker?: number;
  /** The client's HOST:PORT (the PROXY header's source once one was read; `unix` for a unix socket). */
  client: string;
  target: string;
  phase: ConnectionPhase;
  ageMs: number;
  /** True while either direction is held. */
  held: boolean;
  /** Null until the connection relays. */
  clientToTarget: DirectionView | null;
  targetToClient: DirectionView | null;
  /** In message mode only. */
  messages?: MessagesView;
  /** On the tunnel sidecars only. */
  stream?: StreamView;
}

/** The answer of `GET /connections`. */
export interface ConnectionsPage {
  /** Open connections, in every phase; more than `connections.length` when the limit cut. */
  total: number;
  limit: number;
  /** At most `limit`, busiest first. */
  connections: ConnectionView[];
}

/** Gives the connections page for a limit (the sidecar, or several of them merged). */
export type ConnectionsSource = (limit: number) => ConnectionsPage | Promise<ConnectionsPage>;

/** The limit a query string asks for (`limit=N`), clamped to 0..maxLimit; absent or not a number: the default. */
export function limitFromQuery(query: string): number {
  const raw = new URLSearchParams(query).get('limit');
  if (raw === null || raw.trim() === '') return CONNECTIONS_LIMITS.defaultLimit;
  const n = Number(raw);
  if (!Number.isFinite(n)) return CONNECTIONS_LIMITS.defaultLimit;
  return Math.max(0, Math.min(CONNECTIONS_LIMITS.maxLimit, Math.floor(n)));
}

/** Ranks views busiest first: held back, then most buffered, then oldest (lowest id). */
export function busiestFirst(a: { held: boolean; bufferedBytes: number; id: number }, b: { held: boolean; bufferedBytes: number; id: number }): number {
  if (a.held !== b.held) return a.held ? -1 : 1;
  if (a.bufferedBytes !== b.bufferedBytes) return b.bufferedBytes - a.bufferedBytes;
  return a.id - b.id;
}

/** Several pages as one (proxies or workers of one process): totals added, busiest `limit` kept. */
export function mergePages(pages: readonly ConnectionsPage[], limit: number): ConnectionsPage {
  let total = 0;
  const all: ConnectionView[] = [];
  for (const page of pages) {
    total += page.total;
    all.push(...page.connections);
  }
  const ranked = all
    .map((view) => ({ view, held: view.held, bufferedBytes: bufferedOf(view), id: view.id }))
    .sort(busiestFirst)
    .slice(0, limit)
    .map((r) => r.view);
  return { total, limit, connections: ranked };
}

/** Buffered bytes of a view, both directions. */
export function bufferedOf(view: ConnectionView): number {
  return (view.clientToTarget?.bufferedBytes ?? 0) + (view.targetToClient?.bufferedBytes ?? 0);
}
