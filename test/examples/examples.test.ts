import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function runExample(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EXAMPLES + file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples (smoke)', () => {
  it('slow-consumer: the naive relay grows, sluice stays within its window', async () => {
    const { code, stdout, stderr } = await runExample('slow-consumer.js', ['--seconds', '2', '--consumer-rate', '1MiB', '--cap-mib', '400']);
    expect(code, stderr).to.equal(0);
    const m = /peak growth: naive \+([\d.]+) MiB, sluice \+([\d.]+) MiB/.exec(stdout);
    expect(m, stdout).to.not.equal(null);
    const [naive, sluice] = [Number(m![1]), Number(m![2])];
    expect(naive).to.be.greaterThan(sluice + 32);
    expect(sluice).to.be.lessThan(32);
  });
});

describe('sluice demo (smoke)', () => {
  it('runs every strategy, prints a table with a row of numbers for each, and writes the chart it names', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'sluice-demo-test-'));
    try {
      const cli = fileURLToPath(new URL('../../proxy/cli.js', import.meta.url));
      const child = spawn(process.execPath, [cli, 'demo', '--duration', '1s', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const code = await new Promise((r) => child.once('exit', r));
      expect(code, stdout).to.equal(0);
      for (const strategy of ['none', 'block', 'drop-newest', 'spill', 'adaptive']) {
        expect(stdout, strategy).to.match(new RegExp(`^${strategy}\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+/s`, 'm'));
      }
      const chart = /^chart: (.+)$/m.exec(stdout)?.[1];
      expect(chart).to.equal(join(out, 'chart.svg'));
      expect(readFileSync(chart!, 'utf8')).to.match(/^<svg[^>]*>[\s\S]*<\/svg>\n$/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
