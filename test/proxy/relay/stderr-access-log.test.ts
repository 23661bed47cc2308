import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runNode } from '../../helpers/cli.js';

const SCRIPT = fileURLToPath(new URL('../../fixtures/access-log-then-exit.js', import.meta.url));
const lines = (stderr: string): string[] => stderr.split('\n').filter(Boolean);

describe('the batched stderr access log', () => {
  it('writes every pending line when the process exits at once', async () => {
    const { code, stderr } = await runNode(SCRIPT, ['exit'], 15_000);
    expect(code).to.equal(0);
    expect(lines(stderr).map((l) => / conn=(\d+) /.exec(l)?.[1])).to.deep.equal(['1', '2', '3']);
  });

  it('writes every pending line when a signal ends the process', async () => {
    const { code, stderr } = await runNode(SCRIPT, ['signal'], 15_000);
    expect(code).to.equal(1);
    expect(lines(stderr)).to.have.length(3);
  });

  it('keeps the order of access-log lines and the notices written after them', async () => {
    const { stderr } = await runNode(SCRIPT, ['logline'], 15_000);
    const got = lines(stderr);
    expect(got).to.have.length(4);
    expect(got[3]).to.equal('sluice: a notice');
    expect(got[0]).to.include('conn=1');
  });
});
