import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Creates `dir` and its missing parents, one component at a time, in at most two steps per
 * component; rejects with the system error (its `code`: ENOENT, ENOTDIR, EACCES, ...) of the
 * first component that cannot be made a directory.
 *
 * Not `mkdir(dir, { recursive: true })`: on Node 20 that loops forever, at full CPU, when
 * mkdir(2) answers ENOENT under a parent that exists (procfs: `/proc/x`), since it takes ENOENT
 * to mean "make the parent first" and the parent is already there.
 */
export async function makeDirectory(dir: string): Promise<void> {
  // The missing components, deepest first: walk up until something exists (the root always does).
  const missing: string[] = [];
  let path = resolve(dir);
  for (;;) {
    const found = await stat(path).then(
      (s) => s,
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' || dirname(path) === path) throw err;
        return null;
      },
    );
    if (found !== null) {
      if (!found.isDirectory()) throw notADirectory(path);
      break;
    }
    missing.push(path);
    path = dirname(path);
  }
  for (const component of missing.reverse()) {
    try {
      await mkdir(component);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Made by someone else meanwhile, or a symlink: fine if it leads to a directory (a dangling one rejects with ENOENT).
      if (!(await stat(component)).isDirectory()) throw notADirectory(component);
    }
  }
}

function notADirectory(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path });
}
