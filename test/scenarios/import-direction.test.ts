import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One direction of imports between the acceptance scenarios and their two users: test/ and
 * bench/ may import scenarios/; scenarios/ imports neither; bench/ never imports test/. Checked
 * on the sources (every .ts file under the three), by parsing each file's import specifiers
 * (static, re-exports, dynamic and `typeof import()`).
 */

/** Folders whose imports are checked, and the folders each must not import. */
const FORBIDDEN: Record<string, string[]> = {
  scenarios: ['bench', 'test'],
  bench: ['test'],
  test: [],
};

interface Source {
  /** Path from the repository root, with forward slashes. */
  path: string;
  text: string;
}

/**
 * The module specifiers a TypeScript file imports: each string literal that follows `from`,
 * `import` or `import(` in the code, comments and the insides of other strings skipped. (A quote
 * inside a regular expression literal would throw it off; imports come first in a file.)
 */
function importSpecifiers(text: string): string[] {
  const found: string[] = [];
  let code = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      code += ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      if (/(?:\bfrom|\bimport\s*\(?)\s*$/.test(code.slice(-40))) found.push(text.slice(i + 1, j));
      code += '""';
      i = j + 1;
    } else {
      code += c;
      i++;
    }
  }
  return found;
}

/** Every import of a forbidden folder, as "FILE imports SPECIFIER". */
function importViolations(sources: Source[]): string[] {
  const found: string[] = [];
  for (const { path, text } of sources) {
    const forbidden = FORBIDDEN[path.split('/')[0]!] ?? [];
    for (const specifier of importSpecifiers(text)) {
      if (!specifier.startsWith('.')) continue; // node: built-ins and packages
      const target = normalize(join(dirname(path), specifier)).split(/[\\/]/)[0]!;
      if (forbidden.includes(target)) found.push(`${path} imports ${specifier}`);
    }
  }
  return found;
}

/** The repository root: the nearest ancestor of this module holding package.json and scenarios/. */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scenarios'))) return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the repository root');
  }
}

function tsFiles(root: string, folder: string): Source[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => {
      const path = relative(root, join(root, folder, f)).split(/[\\/]/).join('/');
      return { path, text: readFileSync(join(root, path), 'utf8') };
    });
}

describe('import direction: bench/ and test/ use scenarios/, never the other way round', () => {
  it('no file in scenarios/ imports bench/ or test/, and no file in bench/ imports test/', () => {
    const root = repoRoot();
    const sources = Object.keys(FORBIDDEN).flatMap((folder) => tsFiles(root, folder));
    for (const folder of Object.keys(FORBIDDEN)) {
      expect(sources.filter((s) => s.path.startsWith(`${folder}/`)).length, `.ts files under ${folder}/`).to.be.greaterThan(5);
    }
    expect(importViolations(sources)).to.deep.equal([]);
  });

  it('sees every form of import: static, side effect, re-export, dynamic, typeof import()', () => {
    const sources: Source[] = [
      { path: 'bench/checks/a.ts', text: "import { x } from '../../test/helpers/x.js';\nimport './b.js';" },
      { path: 'bench/b.ts', text: "// import '../test/not-an-import.js'\n/* from '../test/nor-this.js' */\nconst s = \"import x from '../test/a-string.js'\";\nexport { y } from '../test/y.js';\nBuffer.from('../test/z.js');" },
      { path: 'scenarios/c.ts', text: "import {\n  a,\n  type B,\n} from '../bench/a.js';\nconst m = await import('../bench/m.js');\nlet t: typeof import(\"../test/t.js\");" },
      { path: 'scenarios/harness/d.ts', text: "import type { S } from '../e.js';\nimport net from 'node:net';" },
      { path: 'test/e.ts', text: "import { s } from '../scenarios/s.js';\nimport { b } from '../bench/b.js';" },
    ];
    expect(importViolations(sources)).to.deep.equal([
      'bench/checks/a.ts imports ../../test/helpers/x.js',
      'bench/b.ts imports ../test/y.js',
      'scenarios/c.ts imports ../bench/a.js',
      'scenarios/c.ts imports ../bench/m.js',
      'scenarios/c.ts imports ../test/t.js',
    ]);
  });
});
