/**
 * A baseline for a leak check, taken after one timer turn: mocha's own test-timeout timer only
 * shows up in the count once a timer has run, which would read as a leak of one 'Timeout'.
 */
export async function resourceBaseline(): Promise<Record<string, number>> {
  await new Promise((r) => setTimeout(r, 1));
  return resourceCounts();
}

/** Counts of live libuv resources by kind ('TCPSocketWrap', 'Timeout', ...), for leak checks. */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** What grew between two counts (kinds whose count went up, with how much). */
export function grownSince(before: Record<string, number>, after: Record<string, number> = resourceCounts()): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after)) {
    const d = n - (before[kind] ?? 0);
    if (d > 0) grown[kind] = d;
  }
  return grown;
}

/** Waits (turning the event loop) until nothing has grown since `before`; returns what is left if it gives up. */
export async function settledSince(before: Record<string, number>, turns = 2000): Promise<Record<string, number>> {
  let grown = grownSince(before);
  for (let i = 0; i < turns && Object.keys(grown).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 1));
    grown = grownSince(before);
  }
  return grown;
}

