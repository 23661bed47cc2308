import { expect } from 'chai';
import { Scope } from '../../scenarios/harness/scope.js';
import { SLUICE_CLI, startTunnelSidecar } from '../../scenarios/harness/sluice.js';
import { tunnelStall } from '../../scenarios/tunnel-stall.js';

/**
 * The shape of the check run from outside the repo, with the real processes: six connections
 * share one tunnel (`sluice tunnel-client` -> `sluice tunnel-server`), the target stalls one of
 * them for 4 s, the other five deliver 16 MiB each intact before it resumes, the stalled one then
 * completes intact, and neither sidecar's RSS grows by more than 48 MB. Slow: not in the default
 * suite; run with `npm run test:slow`. The scenario is scenarios/tunnel-stall.ts, which the quick
 * suite (in process, smaller) and `npm run checks` (tunnel/stall) run too.
 */
const MiB = 1024 * 1024;

/** Extra sidecar flags from SLUICE_STALL_ARGS (for experiments), e.g. "--max-window 4MiB". */
function extraArgs(): string[] {
  return (process.env.SLUICE_STALL_ARGS ?? '').split(' ').filter((a) => a !== '');
}

describe('tunnel sidecars: one stalled connection among six (slow)', function () {
  this.timeout(120_000);
  const scope = new Scope();
  afterEach(() => scope.close());

  it('five deliver 16 MiB each while the sixth is stalled for 4 s; all intact; RSS growth under 48 MB each', async () => {
    const seen = await tunnelStall({
      scope,
      start: async (targetPort) => {
        const server = await startTunnelSidecar(scope, SLUICE_CLI, 'tunnel-server', ['--target', `127.0.0.1:${targetPort}`, ...extraArgs()]);
        const client = await startTunnelSidecar(scope, SLUICE_CLI, 'tunnel-client', ['--server', `127.0.0.1:${server.port}`, ...extraArgs()]);
        return { port: client.port, pids: [client.pid, server.pid] };
      },
      stalledBytes: 16 * MiB,
      otherBytes: 16 * MiB,
      stallMs: 4_000,
      seed: 100,
      writeBytes: 16 * MiB,
      rssSettleMs: 0,
    });
    for (const o of seen.others) {
      expect(o.received).to.deep.equal(o.sent);
      expect(o.replyMs, 'delivered while the sixth was stalled').to.be.below(seen.releasedMs);
    }
    expect(seen.stalled.received).to.deep.equal(seen.stalled.sent);
    expect(seen.stalled.replyMs).to.be.at.least(4_000);
    const [client, server] = seen.rssGrowthBytes.map((b) => b / MiB) as [number, number];
    console.log(`      RSS growth: tunnel-client ${client.toFixed(1)} MiB, tunnel-server ${server.toFixed(1)} MiB`);
    expect(client).to.be.below(48);
    expect(server).to.be.below(48);
  });
});
