import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The package's entry points (package.json "exports": `sluice`, `sluice/windowing`) are used side
 * by side by a library user, so one name must not mean two things in them: a name both export is
 * the same thing re-exported (HoldReason is windowing's, passed on by the public index). Checked
 * for runtime values (the modules as a user imports them, by the package's own name) and for
 * types and values alike (the declaration files each entry's "types" names, every exported name
 * followed through its re-exports to its declaration by the TypeScript compiler).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, { types: string; default: string }> };
const ENTRIES = Object.entries(PACKAGE.exports).map(([subpath, targets]) => ({
  specifier: subpath === '.' ? PACKAGE.name : `${PACKAGE.name}/${subpath.slice(2)}`,
  types: join(ROOT, targets.types),
}));

/** Every pair of entry points, each pair once. */
function pairs<T>(items: T[]): [T, T][] {
  return items.flatMap((a, i) => items.slice(i + 1).map((b): [T, T] => [a, b]));
}

/** Each entry's exported names, every re-export followed to the symbol it names. */
function declaredExports(): Map<string, Map<string, ts.Symbol>> {
  // Our declaration files only: no lib, no @types (a Node type left unresolved does not matter here).
  const program = ts.createProgram(
    ENTRIES.map((e) => e.types),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noLib: true, types: [], noEmit: true },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, Map<string, ts.Symbol>>();
  for (const entry of ENTRIES) {
    const file = program.getSourceFile(entry.types);
    const module = file && checker.getSymbolAtLocation(file);
    if (!module) throw new Error(`no declarations at ${entry.types} (built?)`);
    const names = new Map<string, ts.Symbol>();
    for (const symbol of checker.getExportsOfModule(module)) {
      names.set(symbol.name, symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
    }
    out.set(entry.specifier, names);
  }
  return out;
}

describe('the package entry points (sluice, sluice/windowing)', () => {
  it('finds both entry points in package.json', () => {
    expect(ENTRIES.map((e) => e.specifier)).to.include.members(['sluice', 'sluice/windowing']);
  });

  it('a runtime name exported by two entry points is the same value in both', async () => {
    const modules = new Map<string, Record<string, unknown>>();
    for (const entry of ENTRIES) {
      const specifier: string = entry.specifier; // a variable: tsc leaves the package's self-reference to Node
      modules.set(entry.specifier, (await import(specifier)) as Record<string, unknown>);
    }
    const clashes: string[] = [];
    for (const [a, b] of pairs(ENTRIES)) {
      const left = modules.get(a.specifier)!;
      const right = modules.get(b.specifier)!;
      for (const name of Object.keys(left)) {
        if (name in right && left[name] !== right[name]) clashes.push(`${name} (${a.specifier} vs ${b.specifier})`);
      }
    }
    expect(clashes).to.deep.equal([]);
  });

  it('a type or value name exported by two entry points resolves to one declaration', function () {
    this.timeout(60_000); // a compiler program over the declaration files: seconds on a loaded machine
    const exports = declaredExports();
    const shared: string[] = [];
    const clashes: string[] = [];
    for (const [a, b] of pairs(ENTRIES)) {
      const left = exports.get(a.specifier)!;
      const right = exports.get(b.specifier)!;
      for (const [name, symbol] of left) {
        const other = right.get(name);
        if (other === undefined) continue;
        shared.push(name);
        if (other !== symbol) clashes.push(`${name} (${a.specifier} vs ${b.specifier})`);
      }
    }
    expect(clashes).to.deep.equal([]);
    // The check sees through re-exports: the one name shared on purpose is found, and found equal.
    expect(shared).to.include('HoldReason');
  });
});
