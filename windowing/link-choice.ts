/**
 * Which link of several carries a new stream (`--links N`): the usable one with the fewest live
 * streams, so streams spread evenly and a link that lost its streams fills up again first. Ties
 * go round robin from `startAt`, so equal links take turns instead of the first one taking all.
 */

/** What the choice looks at for one link. */
export interface LinkLoad {
  /** Up, not going away, and not refusing streams. */
  readonly usable: boolean;
  /** Streams open on it now. */
  readonly streams: number;
}

/** Index of the link for the next stream, or -1 when none is usable. */
export function chooseLink(links: readonly LinkLoad[], startAt = 0): number {
  const n = links.length;
  let best = -1;
  for (let k = 0; k < n; k++) {
    const i = (((startAt + k) % n) + n) % n;
    const link = links[i]!;
    if (!link.usable) continue;
    if (best === -1 || link.streams < links[best]!.streams) best = i;
  }
  return best;
}
