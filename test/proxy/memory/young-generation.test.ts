import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MB = 1e6;
const helper = fileURLToPath(new URL('../../../proxy/memory/young-generation.js', import.meta.url));

/**
 * The young generation's size in a fresh Node process after a burst of 200 000 objects that all
 * survive (what a burst of connections leaves), with or without holdYoungGeneration() first.
 * A child process: the flag is process-wide, and this one's young generation has grown already.
 */
function youngGenerationAfterBurst(hold: boolean): Promise<number> {
  const script = `
    import v8 from 'node:v8';
    import { holdYoungGeneration } from ${JSON.stringify(helper)};
    if (${hold} && !holdYoungGeneration()) throw new Error('flag refused');
    const kept = [];
    for (let i = 0; i < 200000; i++) kept.push({ i, pair: [i, i + 1] });
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(space.space_size, kept.length);`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => (err ? reject(err) : resolve(Number(stdout.split(' ')[0]))));
  });
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation at its starting size through a burst of surviving objects (it grows to 16 MB and more without)', async () => {
    const [held, free] = await Promise.all([youngGenerationAfterBurst(true), youngGenerationAfterBurst(false)]);
    expect(held).to.be.at.most(4 * MB);
    expect(free).to.be.at.least(16 * MB);
  });
});
