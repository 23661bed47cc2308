import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * One full, compacting garbage collection, for after a burst: the objects a burst of connections
 * left behind (write requests, views, sockets) sit in old-space pages that V8 would otherwise
 * keep, half empty, for a long while. This leans on V8 internals (turning on `--expose-gc` at run
 * time to get `gc` in a fresh context, and `--compact-on-every-full-gc` around the call), so it is
 * the one place that does; when they are not there it does nothing and says so.
 */

/** Runs a full GC; false when none could be had. */
export type Collector = () => boolean;

/** Finds the runtime's gc function: the global one (node --expose-gc), else one from a new context. */
export function findGc(): (() => void) | null {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as () => void;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** A collector over `find` (looked up once, on first use); with no gc to be had it is a no-op returning false. */
export function createCollector(find: () => (() => void) | null = findGc): Collector {
  let gc: (() => void) | null | undefined;
  return () => {
    if (gc === undefined) gc = find();
    if (!gc) return false;
    v8.setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
    return true;
  };
}

/** The process's collector. */
export const collectGarbage: Collector = createCollector();
