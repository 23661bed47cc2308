/**
 * How many connections `tunnel-client -> tunnel-server` holds at once, as the bench starts it:
 * one link (the bench gives the client no --links: the same extra arguments go to both sidecars,
 * and the server has no such flag) times the streams a link may carry (--max-streams, 1000 by
 * default). Past it the client makes new connections wait --link-wait and then closes them, so a
 * case that needs more would only wait for connections that never arrive.
 */
import { TUNNEL_DEFAULTS } from '../../proxy/tunnel/defaults.js';
import type { ConnectionLimit } from './types.js';

/** The tunnel subject's connection limit under these extra sidecar arguments (the last --max-streams wins, as in the CLI). */
export function tunnelConnectionLimit(extraArgs: readonly string[]): ConnectionLimit {
  let given: number | null = null;
  for (let i = 0; i < extraArgs.length; i++) {
    const arg = extraArgs[i]!;
    if (arg === '--max-streams') given = Number(extraArgs[i + 1]);
    else if (arg.startsWith('--max-streams=')) given = Number(arg.slice('--max-streams='.length));
  }
  const perLink = given !== null && Number.isSafeInteger(given) && given > 0 ? given : TUNNEL_DEFAULTS.maxStreams;
  const source = given === null ? ', the default' : '';
  return { count: perLink, why: `1 link x --max-streams ${perLink}${source}` };
}
