import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROXY = fileURLToPath(new URL('../../../proxy/', import.meta.url));
const LAYOUT = readFileSync(join(PROXY, 'LAYOUT.md'), 'utf8');

/** The rule as written in proxy/LAYOUT.md's table: folder -> folders it may import. */
function writtenRule(): Map<string, Set<string>> {
  const rule = new Map<string, Set<string>>();
  const folders: string[] = [];
  for (const m of LAYOUT.matchAll(/^\| `([a-z]+)\/` \|[^|]*\| ([^|]*) \|$/gm)) folders.push(m[1]!);
  for (const m of LAYOUT.matchAll(/^\| `([a-z]+)\/` \|[^|]*\| ([^|]*) \|$/gm)) {
    const text = m[2]!.trim();
    let allowed: string[];
    if (text === 'all') allowed = folders;
    else if (text.startsWith('all but ')) {
      const but = text.slice('all but '.length).split(/ and |, /).map((s) => s.trim());
      allowed = folders.filter((f) => !but.includes(f));
    } else if (text.startsWith('(')) allowed = [];
    else allowed = text.split(',').map((s) => s.trim());
    rule.set(m[1]!, new Set(allowed));
  }
  return rule;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The folder of a file under proxy/ ('.' for proxy/ itself). */
function folderOf(path: string): string {
  const rel = relative(PROXY, path);
  return rel.includes('/') ? rel.split('/')[0]! : '.';
}

describe('proxy/ layout (proxy/LAYOUT.md)', () => {
  const rule = writtenRule();

  it('the written rule names every folder there is', () => {
    const onDisk = readdirSync(PROXY).filter((n) => statSync(join(PROXY, n)).isDirectory());
    expect([...rule.keys()].sort()).to.deep.equal(onDisk.sort());
  });

  it('every import between folders is one the rule allows', () => {
    const broken: string[] = [];
    for (const file of sources(PROXY)) {
      const from = folderOf(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = resolve(dirname(file), m[1]!);
        if (!target.startsWith(PROXY)) continue; // windowing/ and node: are open to all
        const to = folderOf(target);
        if (to === from) continue;
        // proxy/index.ts is the library's face; proxy/cli.ts, the bin, may import anything.
        const allowed = from === '.' ? file.endsWith('cli.ts') || !['cli', 'demo', 'sidecar', 'serve'].includes(to) : rule.get(from)?.has(to);
        if (!allowed) broken.push(`${relative(PROXY, file)} imports ${relative(PROXY, target)}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('fails on an import the rule forbids (the check can fail)', () => {
    expect(rule.get('relay')?.has('tunnel')).to.equal(false);
    expect(rule.get('net')?.size).to.equal(0);
    expect(rule.get('cli')?.has('relay')).to.equal(true);
  });
});
