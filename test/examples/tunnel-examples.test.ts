import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runNode } from '../helpers/cli.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function runExample(file: string, args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return runNode(EXAMPLES + file, args);
}

describe('tunnel examples (smoke)', function () {
  this.timeout(60_000);

  it('custom-server: streams over one connection, a slow reader among them, every echo intact', async () => {
    const { code, stdout, stderr } = await runExample('custom-server.js', ['--jobs', '3', '--size', '1MiB', '--slow-rate', '8MiB']);
    expect(code, stderr).to.equal(0);
    expect(stdout.match(/^stream \d+ \(.*\): 1\.0 MiB echoed in \d+ ms, intact$/gm)).to.have.length(3);
    expect(stdout).to.match(/^round trip [\d.]+ ms; window updates sent \d+, received \d+$/m);
  });

  it('window-experiment: prints a row per window and one for auto-tuning', async () => {
    const { code, stdout, stderr } = await runExample('window-experiment.js', ['--delay', '20ms', '--seconds', '0.5', '--windows', '256KiB,1MiB']);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^one stream, 20 ms added round trip, 0\.5 s each$/m);
    for (const label of ['fixed 256KiB', 'fixed 1MiB', 'auto-tuned 256KiB..16MiB']) {
      expect(stdout).to.match(new RegExp(`^${label.replace(/\./g, '\\.')} +[\\d.]+ +[\\d.]+ +\\S+ +[\\d.]+ ms$`, 'm'));
    }
  });

  it('tunnel-throughput: one interleaved round, relay and tunnel side by side', async () => {
    const { code, stdout, stderr } = await runExample('tunnel-throughput.js', ['--seconds', '1', '--rounds', '1', '--streams', '1', '--no-go']);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^load: (iperf3|built-in generator), 1 s per measurement, 1 interleaved rounds, medians$/m);
    expect(stdout).to.match(/^1 +[\d.]+ +[\d.]+ +[\d.]+ +-$/m);
  });
});
