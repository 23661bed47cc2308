/**
 * Issue 9, the relay under a connection flood:
 *
 *   "Against relay with `--max-conns 50 --idle-timeout 1s`: 1000 idle connections never put
 *    more than 50 on the target and a real client is served within 3 s. No process exits."
 *
 *   1000 idle clients (kept at 1000) --+
 *                                      +--> sluice relay --max-conns 50 --idle-timeout 1s --> echo target
 *   1 real client (request, echo) -----+                                         (counts open connections)
 *
 * Readings chosen where the text leaves room (the stricter one each time):
 * - the flood is kept up: every idle connection the relay closes is opened again at once, for
 *   4 s after the first 1000 connected, so the relay faces 1000 idle connections the whole time,
 *   not one batch that its idle timeout clears;
 * - the real client connects as soon as the first 1000 are connected (the fullest queue), sends
 *   a line and must get it back whole within 3 s of starting to connect;
 * - "on the target" is counted by the target itself: +1 on each accepted connection, -1 on its
 *   'close'; the maximum over the whole run must be <= 50;
 * - "no process exits": the relay process is still running at the end (the target and the
 *   clients live in this process, which would not have reached the verdict otherwise).
 */
import { startRelay, type RunningSluice } from '../../scenarios/harness/sluice.js';
import { idleFlood } from '../../scenarios/idle-flood.js';
import { round } from './support.js';
import { verdict, type Scenario } from './types.js';

const FLOOD_CONNECTIONS = 1000;
const MAX_CONNS = 50;
const SERVED_WITHIN_MS = 3000;
/** How long the flood is kept at 1000 after it first got there. */
const HOLD_MS = 4000;

export const floodScenario: Scenario = {
  name: 'flood',
  issue: 'issue 9',
  lines: ['flood/idle-1000'],
  async run({ scope, sluice, report, log }) {
    const name = 'flood/idle-1000';
    const threshold = `target never holds > ${MAX_CONNS}; real client echoed within ${SERVED_WITHIN_MS} ms; relay still running`;
    let relay!: RunningSluice;
    const seen = await idleFlood({
      scope,
      start: async (targetPort) => {
        relay = await startRelay(scope, sluice, targetPort, ['--max-conns', String(MAX_CONNS), '--idle-timeout', '1s']);
        log(`${name}: ${FLOOD_CONNECTIONS} idle connections, kept up ${HOLD_MS} ms, then a real client`);
        return relay.port;
      },
      idle: FLOOD_CONNECTIONS,
      holdMs: HOLD_MS,
      realTimeoutMs: SERVED_WITHIN_MS + 2000,
    });
    const servedMs = 'servedMs' in seen.real ? seen.real.servedMs : null;
    const aliveAtEnd = relay.alive();
    report(
      verdict(
        name,
        {
          maxAtTarget: seen.maxAtTarget,
          targetAccepted: seen.targetAccepted,
          floodOpened: seen.idleOpened,
          floodClosedByRelay: seen.idleClosedByRelay,
          floodConnectErrors: seen.idleConnectErrors,
          filledMs: round(seen.filledMs),
          realServedMs: servedMs === null ? 'no' : round(servedMs),
          relayAlive: aliveAtEnd,
        },
        threshold,
        [
          seen.maxAtTarget > MAX_CONNS && `the target held ${seen.maxAtTarget} connections at once`,
          'error' in seen.real && `the real client was not served: ${seen.real.error}`,
          servedMs !== null && servedMs > SERVED_WITHIN_MS && `the real client was served after ${round(servedMs)} ms`,
          !aliveAtEnd && `the relay exited (${relay.child.exitCode ?? relay.child.signalCode})`,
        ],
      ),
    );
  },
};
