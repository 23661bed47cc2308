import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The compiled modules next to this compiled test (dist/proxy/): what Node really loads, with the
// type-only imports gone.
const DIST = fileURLToPath(new URL('../../../', import.meta.url));

/** Every module a file loads before it runs (static imports, followed), and the built-ins among them; `import()` is not followed. */
function staticGraph(entry: string): { files: Set<string>; builtins: Set<string> } {
  const files = new Set<string>();
  const builtins = new Set<string>();
  const pending = [resolve(DIST, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s+(?:[\w*${}\s,]+?\s+from\s+)?'([^']+)'/gm)) {
      const specifier = m[1]!;
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
      else builtins.add(specifier);
    }
  }
  return { files: new Set([...files].map((f) => relative(DIST, f))), builtins };
}

// What only a flag asks for; a sidecar started without those flags must not load it (issue 18: a
// sidecar at rest should cost little more than Node itself).
const FLAG_ONLY_BUILTINS = ['node:http', 'node:tls', 'node:crypto', 'node:cluster', 'node:vm', 'node:fs/promises'];
const FLAG_ONLY_MODULES = [
  'proxy/signals/management-server.js', // --metrics
  'proxy/signals/http-endpoints.js', // --metrics
  'proxy/signals/agent-check.js', // --agent
  'proxy/sidecar/workers.js', // --workers
  'proxy/spill/spill-store.js', // --overflow spill
  'windowing/index.js', // the barrel: every windowing module at once
];

describe('sidecar commands load what a flag needs only when it is given (issue 18)', () => {
  for (const command of ['relay', 'tunnel-client', 'tunnel-server']) {
    it(`sluice ${command}: no flag-only built-in or module among its static imports`, () => {
      const { files, builtins } = staticGraph(`proxy/cli/${command}.js`);
      expect(files.size).to.be.greaterThan(10); // the walk follows imports (a broken pattern would find one file)
      expect(FLAG_ONLY_BUILTINS.filter((b) => builtins.has(b))).to.deep.equal([]);
      expect(FLAG_ONLY_MODULES.filter((m) => files.has(m))).to.deep.equal([]);
    });
  }

  it('the walk sees a flag-only module where one is imported statically (the check can fail)', () => {
    const { files, builtins } = staticGraph('proxy/signals/http-endpoints.js');
    expect(files.has('proxy/signals/management-server.js')).to.equal(true);
    expect(builtins.has('node:http')).to.equal(true);
  });
});
