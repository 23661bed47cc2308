/**
 * TODO(tunnel): the tunnel checks of issues 4 and 9. They need `sluice tunnel-client` and
 * `sluice tunnel-server`, which are being merged in parallel (branch `tunnel`); until then both
 * lines report SKIPPED. To fill them in: start `tunnel-server --listen 127.0.0.1:0 --target ...`
 * and `tunnel-client --listen 127.0.0.1:0 --server <tunnel-server>` with `spawnTracked` through
 * the scope (like `startRelay` in support.ts: both print `sluice <command> listening on
 * HOST:PORT`), measure RSS of both processes with `RssSampler`, and replace `skipped(...)` below
 * with `verdict(...)` lines.
 *
 * The texts, as far as they reached this branch (copy the issues' exact wording in when you
 * implement them, and pick the stricter reading wherever a detail is open, as the other files do):
 *
 * - Issue 4 (tunnel), the shape of its external check as described in the tunnel branch
 *   (test/e2e/tunnel-stall.slow.test.ts there), not the issue's verbatim words:
 *     "six connections share one tunnel (`sluice tunnel-client` -> `sluice tunnel-server`), the
 *      target stalls one of them for 4 s, the other five deliver 16 MiB each intact before it
 *      resumes, the stalled one then completes intact, and neither sidecar's RSS grows by more
 *      than 48 MB."
 *
 * - Issue 9 (floods and abuse), its tunnel part: the wording did not reach this branch. The relay
 *   part is bench/checks/flood.ts ("Against relay with `--max-conns 50 --idle-timeout 1s`: 1000
 *   idle connections never put more than 50 on the target and a real client is served within
 *   3 s. No process exits."); the tunnel part is to be copied from issue 9 itself.
 */
import { skipped, type Scenario } from './types.js';

const REASON = 'TODO: tunnel-client/tunnel-server are being merged in parallel; see bench/checks/tunnel.ts';

export const tunnelScenario: Scenario = {
  name: 'tunnel',
  issue: 'issues 4 and 9',
  lines: ['tunnel/stall', 'tunnel/flood'],
  async run({ report }) {
    report(skipped('tunnel/stall', 'issue 4: five of six streams deliver 16 MiB intact while one is stalled 4 s; RSS growth <= 48 MB per sidecar', REASON));
    report(skipped('tunnel/flood', "issue 9: the tunnel part (wording to be copied from the issue)", REASON));
  },
};
