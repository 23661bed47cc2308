import v8 from 'node:v8';

/**
 * Keeps V8's young generation at the size it has when this is called (two semi-spaces of 2 MiB
 * once a sidecar's modules are loaded: V8 starts at 1 MiB and the loading doubles it once) instead
 * of letting it double up to 16 MiB each. V8 grows it whenever what survives its scavenges adds up
 * to its size, which a burst of new connections does at once (every connection's objects survive),
 * and it gives the memory back only after a collection at a time of low allocation: an idle
 * sidecar may run none for minutes. A tunnel sidecar with 1000 idle streams held 14-16 MB of young
 * generation that way, more than its streams' own objects; a proxy's objects are either
 * short-lived or live as long as their connection, so the smaller space costs no measurable CPU
 * (bulk and request-rate CPU per byte and per request the same within the bench's noise).
 *
 * `--max-semi-space-size` is read only when the heap is set up, before any script runs; the
 * growth factor is read whenever V8 considers growing, so setting it to 1 at run time holds the
 * young generation where it is. Process-wide, so only the sidecar commands call this, never the
 * library. Returns false (and changes nothing) where the runtime refuses the flag.
 */
export function holdYoungGeneration(): boolean {
  try {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    return true;
  } catch {
    return false;
  }
}
