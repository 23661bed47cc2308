import { mkdir, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeDirectory } from './make-directory.js';

/**
 * The run directory of a spill store: `<spill-dir>/sluice-<pid>-<hex>/`, one per process run.
 * Opening one creates the spill directory if missing, removes what crashed runs left there,
 * and proves the new run directory writable; closing removes it with everything in it.
 */

export { DEFAULT_SPILL_DIR } from './defaults.js';

/** Run directories are named `sluice-<pid>-<hex>`; only names of this shape are ever cleaned up. */
const RUN_DIR_PATTERN = /^sluice-([0-9]+)-([0-9a-f]{8,32})$/;

// Run directories of stores open in this process, so a second store never removes a live sibling's.
const liveRunDirs = new Set<string>();

/** The spill directory cannot be used: sluice refuses to start, with one line naming it. */
export class SpillDirError extends Error {
  readonly code = 'SLUICE_SPILL_DIR_UNWRITABLE';
  constructor(
    /** The `--spill-dir` asked for. */
    readonly dir: string,
    /** The system error code behind it (ENOTDIR, EACCES, EROFS, ...). */
    readonly reason: string,
  ) {
    super(`--spill-dir ${dir} is not a writable directory (${reason})`);
    this.name = 'SpillDirError';
  }
}

/** A run directory just opened, and the leftovers removed on the way. */
export interface OpenedRunDir {
  /** `<dir>/sluice-<pid>-<hex>`. */
  runDir: string;
  /** Names of leftover run directories removed. */
  removedLeftovers: string[];
}

/**
 * Prepares `dir`: creates it if missing, removes run directories of processes that are gone,
 * creates this run's directory and proves it writable. Throws `SpillDirError` (naming `dir`)
 * when it cannot.
 */
export async function openRunDir(dir: string, isAlive: (pid: number) => boolean): Promise<OpenedRunDir> {
  const fail = (err: unknown): never => {
    throw new SpillDirError(dir, (err as NodeJS.ErrnoException).code ?? String(err));
  };
  await makeDirectory(dir).catch(fail);
  const removedLeftovers = await removeLeftovers(dir, isAlive);
  const runDir = join(dir, `sluice-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(runDir).catch(fail);
  try {
    const probe = join(runDir, 'probe');
    await writeFile(probe, 'sluice');
    await unlink(probe);
  } catch (err) {
    await rm(runDir, { recursive: true, force: true }).catch(() => {});
    fail(err);
  }
  liveRunDirs.add(runDir);
  return { runDir, removedLeftovers };
}

/** Removes a run directory opened by `openRunDir`, with everything still in it. */
export async function closeRunDir(runDir: string): Promise<void> {
  await rm(runDir, { recursive: true, force: true }).catch(() => {});
  liveRunDirs.delete(runDir);
}

/** True if `pid` is a live process (EPERM means alive but not ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes run directories left by crashed runs: only names of our shape whose process is gone.
 * One with our own pid is also a leftover (a previous life under the same pid, as pid 1 in a
 * container), unless a store of this process has it open.
 */
async function removeLeftovers(dir: string, isAlive: (pid: number) => boolean): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const match = RUN_DIR_PATTERN.exec(name);
    if (match === null) continue;
    const path = join(dir, name);
    if (liveRunDirs.has(path)) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isAlive(pid)) continue;
    try {
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Not ours to fight over; the next start tries again.
    }
  }
  return removed;
}
