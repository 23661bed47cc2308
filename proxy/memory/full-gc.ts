import { createRequire } from 'node:module';
import v8 from 'node:v8';

// node:vm is needed only for the first collection (to find gc), which many processes never run.
const require = createRequire(import.meta.url);

/**
 * One full, compacting garbage collection, for after a burst: the objects a burst of connections
 * left behind (write requests, views, sockets) sit in old-space pages that V8 would otherwise
 * keep, half empty, for a long while. This leans on V8 internals, so it is the one place that
 * does: `--expose-gc` is turned on at run time just long enough to get `gc` from a fresh context
 * (no command-line flag is needed, and later contexts get no `gc`), and `--compact-on-every-full-gc`
 * is set around the call. Where they are missing, or `gc` throws, it does nothing and says so
 * (returns false); it never throws.
 */

/** Runs a full GC; false when none could be had. */
export type Collector = () => boolean;

/** Finds the runtime's gc function: the global one (node --expose-gc), else one from a new context. */
export function findGc(): (() => void) | null {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as () => void;
  try {
    v8.setFlagsFromString('--expose-gc');
    const vm = require('node:vm') as typeof import('node:vm');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  } finally {
    try {
      v8.setFlagsFromString('--no-expose-gc'); // an embedding process's own contexts get no gc
    } catch {
      // nothing to undo
    }
  }
}

/**
 * A collector over `find` (looked up once, on first use); with no gc to be had it is a no-op
 * returning false, and a gc that throws is not called again.
 */
export function createCollector(find: () => (() => void) | null = findGc): Collector {
  let gc: (() => void) | null | undefined;
  return () => {
    if (gc === undefined) gc = find();
    if (!gc) return false;
    try {
      v8.setFlagsFromString('--compact-on-every-full-gc');
      gc();
      return true;
    } catch {
      gc = null;
      return false;
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

/** The process's collector. */
export const collectGarbage: Collector = createCollector();
