import { ArrivalBurstCollector } from '../memory/arrival-burst.js';
import { collectGarbage } from '../memory/full-gc.js';

/**
 * A burst of streams grows a tunnel sidecar's heap by some 6 MB per 1000 (stream, relay and
 * connection objects, and what only lived while each was set up); after it V8 keeps the old-space
 * pages that burst filled, a quarter of them empty, until its memory reducer runs. One compacting
 * GC once the burst is over gives them back: 1.5-2.5 MB of RSS per sidecar at 1000 idle streams.
 * The relay server's threshold (16 MiB, memory/arrival-burst.ts) is never reached by a tunnel
 * sidecar's bursts of that size, hence a lower one.
 */
export const TUNNEL_BURST_GROWTH_BYTES = 4 * 1024 * 1024;

/** The after-burst collector of a tunnel sidecar: arrived() per accepted connection or stream, close() at shutdown. */
export function tunnelArrivalBursts(): ArrivalBurstCollector {
  return new ArrivalBurstCollector(() => void collectGarbage(), { growthBytes: TUNNEL_BURST_GROWTH_BYTES });
}
