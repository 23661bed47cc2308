import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runCli, runNode, startCli } from '../helpers/cli.js';
import { getText } from '../helpers/http.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function runExample(file: string, args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return runNode(EXAMPLES + file, args);
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

describe('toxics-retry example (smoke)', () => {
  it('prints a row per toxic set; without toxics every request succeeds first time; latency 100 never answers sooner than 100 ms', async () => {
    const { code, stdout, stderr } = await runExample('toxics-retry.js', ['--requests', '4', '--deadline', '2000']);
    expect(code, stderr).to.equal(0);
    for (const label of ['none', 'latency 100', 'latency 100 jitter 80', 'reset_peer on 30%', 'latency 100 \\+ reset 30%']) {
      expect(stdout, label).to.match(new RegExp(`^${label}\\s+\\d+/4\\s+[\\d.]+\\s+\\d+\\s+\\d+$`, 'm'));
    }
    expect(stdout).to.match(/^none\s+4\/4\s+1\.00\s/m);
    const latency = /^latency 100\s+4\/4\s+[\d.]+\s+(\d+)\s/m.exec(stdout);
    expect(Number(latency?.[1]), stdout).to.be.at.least(100);
  });
});

describe('sluice demo (smoke)', () => {
  it('runs every strategy, prints a table with a row of numbers for each, and writes the chart it names', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'sluice-demo-test-'));
    try {
      const { code, stdout } = await runCli(['demo', '--duration', '1s', '--out', out]);
      expect(code, stdout).to.equal(0);
      expect(stdout).to.match(/^Watch it live: http:\/\/127\.0\.0\.1:\d+\/ /m);
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

  it('prints the live page\'s address as it starts; /connections there lists the running strategy\'s connection under its name', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'sluice-demo-test-'));
    const cli = startCli(['demo', '--duration', '3s', '--strategies', 'spill', '--out', out]);
    try {
      while (!/Watch it live: /.test(cli.stdout())) await new Promise((r) => cli.child.stdout!.once('data', r));
      const port = Number(/Watch it live: http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stdout())![1]);
      let page: { connections: { proxy?: string; messages?: object }[] } = { connections: [] };
      while (page.connections.length === 0) {
        await new Promise((r) => setTimeout(r, 50));
        page = JSON.parse(await getText(port, '/connections')) as typeof page;
      }
      expect(page.connections[0]).to.include({ proxy: 'spill' });
      expect(page.connections[0]).to.have.property('messages');
      expect(await cli.exited).to.equal(0);
    } finally {
      await cli.kill();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
