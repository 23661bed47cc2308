/**
 * Issue 6, adaptive load shedding behind a load balancer:
 *
 *   "Two `sluice relay` instances behind HAProxy (roundrobin, agent-check on each `--agent` port,
 *    200 ms interval); one target reads 256 KB/s, the other is fast; 80 clients each send 8 MiB,
 *    50 ms apart. The slow instance's `/healthz` answers 503 while the healthy one answers 200,
 *    and after 2 s at most 30% of new connections reach the slow instance."
 *
 *   80 clients, 50 ms apart --> HAProxy (roundrobin, agent-inter 200ms)
 *                                 +--> sluice relay (slow) --> target reading 256 KB/s per connection
 *                                 +--> sluice relay (fast) --> target reading as fast as it can
 *   both relays: --metrics (/healthz sampled every 100 ms) --agent (HAProxy's agent check)
 *
 * Readings chosen where the text leaves room (the stricter one each time):
 * - "reads 256 KB/s" is per connection (256 000 B/s each), as in test/e2e/adaptive-haproxy: the
 *   slow instance is then less slow than with 256 KB/s shared by all its connections, so its
 *   pressure is harder to see.
 * - each client's first 4 bytes are its number (u32be), so each target knows which client it
 *   accepted; a connection "reaches" an instance when that instance's target accepted it. "New
 *   connections after 2 s" are the clients opened 2 s or more after the first one. Every one of
 *   them must reach one of the targets (a balancer that loses connections would otherwise lower
 *   the share), and at most 30% may reach the slow one.
 * - /healthz of both instances is sampled every 100 ms from the first client until the end: there
 *   must be a sample where the slow one answers 503 while the fast one answers 200, and the fast
 *   one must answer 200 in every sample.
 * - the clients are not waited for (the slow instance's share would take minutes at 256 KB/s): the
 *   check ends once every client opened after 2 s has reached a target (at most 3 s after the last
 *   one opened).
 */
import net from 'node:net';
import type { ServerStat } from '../../scenarios/harness/haproxy-admin.js';
import { findHaproxy, haproxyUnavailableReason, startHaproxy } from '../../scenarios/harness/haproxy.js';
import { paceReads } from '../../scenarios/harness/pace.js';
import type { Scope } from '../../scenarios/harness/scope.js';
import { startRelay } from '../../scenarios/harness/sluice.js';
import { delay, listen, MiB, now, until, writeAllAndEnd } from '../../scenarios/harness/sockets.js';
import { httpGet, round } from './support.js';
import { skipped, verdict, type Scenario } from './types.js';

const CLIENTS = 80;
const CLIENT_BYTES = 8 * MiB;
const CLIENT_GAP_MS = 50;
const SLOW_BYTES_PER_S = 256_000;
const AGENT_INTER_MS = 200;
const NEW_AFTER_MS = 2000;
const MAX_SLOW_SHARE = 0.3;
const HEALTH_EVERY_MS = 100;
const NAME = 'adaptive/haproxy';
const THRESHOLD = `a sample with slow /healthz 503 and fast 200; fast always 200; clients opened >= ${NEW_AFTER_MS} ms: all reach a target, <= ${MAX_SLOW_SHARE * 100}% the slow one`;

/** A target that learns each connection's client number and reads at most `bytesPerS` per connection (0: as fast as it can). */
async function target(scope: Scope, bytesPerS: number): Promise<{ port: number; clients: Set<number> }> {
  const clients = new Set<number>();
  const server = scope.server(
    net.createServer((socket) => {
      let head = Buffer.alloc(0);
      const learnNumber = (d: Buffer): void => {
        head = Buffer.concat([head, d.subarray(0, 4 - head.length)]);
        if (head.length < 4) return;
        clients.add(head.readUInt32BE(0));
        socket.off('data', learnNumber);
      };
      socket.on('data', learnNumber);
      paceReads(socket, bytesPerS);
    }),
  );
  return { port: await listen(server), clients };
}

/** Sends its number then `CLIENT_BYTES` as fast as it is let; reads and discards anything back. */
function client(scope: Scope, port: number, id: number, body: Buffer): void {
  const socket = scope.socket(net.connect({ port, host: '127.0.0.1' }));
  socket.resume();
  const head = Buffer.alloc(4);
  head.writeUInt32BE(id, 0);
  socket.write(head);
  void writeAllAndEnd(socket, body).catch(() => {}); // shed clients are closed mid-write
}

export const adaptiveScenario: Scenario = {
  name: 'adaptive',
  issue: 'issue 6',
  lines: [NAME],
  async run({ scope, sluice, report, log }) {
    const haproxy = await findHaproxy();
    if (!haproxy) return void report(skipped(NAME, THRESHOLD, haproxyUnavailableReason() ?? 'haproxy not found'));

    const slowTarget = await target(scope, SLOW_BYTES_PER_S);
    const fastTarget = await target(scope, 0);
    const slow = await startRelay(scope, sluice, slowTarget.port, [], { metrics: true, agent: true });
    const fast = await startRelay(scope, sluice, fastTarget.port, [], { metrics: true, agent: true });
    const lb = await startHaproxy(scope, haproxy, {
      servers: [
        { name: 'slow', port: slow.port, agentPort: slow.agentPort! },
        { name: 'fast', port: fast.port, agentPort: fast.agentPort! },
      ],
      agentInterMs: AGENT_INTER_MS,
    });
    // Start from both servers checked and up, so the first clients are balanced as configured.
    let lbState: Record<string, ServerStat> = {};
    const deadline = now() + 10_000;
    for (;;) {
      lbState = await lb.stats();
      if (lbState.slow?.agentStatus === 'L7OK' && lbState.fast?.agentStatus === 'L7OK') break;
      if (now() > deadline) throw new Error(`haproxy: agents not answering after 10 s: ${JSON.stringify(lbState)}`);
      await delay(50);
    }
    log(`${NAME}: ${CLIENTS} clients x ${CLIENT_BYTES / MiB} MiB, ${CLIENT_GAP_MS} ms apart, through HAProxy`);

    const t0 = now();
    let sampling = true;
    const health: Array<{ ms: number; slow: number; fast: number; retryAfter: boolean }> = [];
    const slowStates: Array<{ ms: number; status: string; weight: number }> = [];
    const sampleHealth = async (): Promise<void> => {
      while (sampling) {
        const at = now();
        const status = (port: number) => httpGet(port, '/healthz', 1000).then((r) => r, () => ({ status: 0, headers: {} as Record<string, string> }));
        const [s, f] = await Promise.all([status(slow.metricsPort!), status(fast.metricsPort!)]);
        health.push({ ms: at - t0, slow: s.status, fast: f.status, retryAfter: s.headers['retry-after'] !== undefined });
        await delay(Math.max(0, HEALTH_EVERY_MS - (now() - at)));
      }
    };
    const sampleLb = async (): Promise<void> => {
      while (sampling) {
        const at = now();
        const s = await lb.stats().catch(() => ({}) as Record<string, ServerStat>);
        if (s.slow) slowStates.push({ ms: at - t0, status: s.slow.status, weight: s.slow.weight });
        await delay(Math.max(0, 200 - (now() - at)));
      }
    };
    const samplers = [sampleHealth(), sampleLb()];

    const body = Buffer.alloc(CLIENT_BYTES, 0x61);
    const openedMs: number[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      // Never before its time (a timer may fire a little early): "after 2 s" must mean after.
      while (now() < t0 + i * CLIENT_GAP_MS) await delay(Math.max(1, t0 + i * CLIENT_GAP_MS - now()));
      openedMs[i] = now() - t0;
      client(scope, lb.port, i, body);
    }
    const late = openedMs.map((_, i) => i).filter((i) => i * CLIENT_GAP_MS >= NEW_AFTER_MS);
    const reached = (i: number): boolean => slowTarget.clients.has(i) || fastTarget.clients.has(i);
    await until(() => late.every(reached), 'every new client reaching a target', 3000).catch(() => {});
    // A little more /healthz after the last client, then stop.
    await delay(300);
    sampling = false;
    await Promise.all(samplers);

    const lateSlow = late.filter((i) => slowTarget.clients.has(i)).length;
    const lateFast = late.filter((i) => fastTarget.clients.has(i)).length;
    const lost = late.length - lateSlow - lateFast;
    const share = lateSlow + lateFast > 0 ? lateSlow / (lateSlow + lateFast) : 1;
    const early = openedMs.map((_, i) => i).filter((i) => !late.includes(i));
    const openLagMs = Math.max(...openedMs.map((ms, i) => ms - i * CLIENT_GAP_MS));
    const earlySlow = early.filter((i) => slowTarget.clients.has(i)).length;
    const both = health.find((h) => h.slow === 503 && h.fast === 200);
    const first503 = health.find((h) => h.slow === 503);
    const slow503After = first503 ? health.filter((h) => h.ms >= first503.ms) : [];
    const fastNot200 = health.filter((h) => h.fast !== 200);
    const firstDrain = slowStates.find((s) => s.status.startsWith('DRAIN'));
    report(
      verdict(
        NAME,
        {
          newClients: late.length,
          clientOpenLagMaxMs: round(openLagMs),
          newToSlow: lateSlow,
          newToFast: lateFast,
          newLost: lost,
          newSlowSharePct: round(share * 100),
          firstClientsToSlow: `${earlySlow}/${early.length}`,
          slow503FirstMs: first503 ? round(first503.ms) : 'never',
          slow503SharePct: slow503After.length ? round((slow503After.filter((h) => h.slow === 503).length / slow503After.length) * 100) : 0,
          slowRetryAfter: first503 ? first503.retryAfter : 'n/a',
          fastNon200: fastNot200.length,
          healthSamples: health.length,
          slowDrainFirstMs: firstDrain ? round(firstDrain.ms) : 'never',
          slowMinWeight: slowStates.length ? Math.min(...slowStates.map((s) => s.weight)) : 'n/a',
          relaysAlive: slow.alive() && fast.alive(),
        },
        THRESHOLD,
        [
          !both && (first503 ? 'the slow /healthz answered 503 only while the fast one did not answer 200' : 'the slow /healthz never answered 503'),
          fastNot200.length > 0 && `the fast /healthz answered ${[...new Set(fastNot200.map((h) => h.fast))].join('/')} in ${fastNot200.length} of ${health.length} samples (first at ${round(fastNot200[0]!.ms)} ms)`,
          lost > 0 && `${lost} of ${late.length} new clients reached no target`,
          share > MAX_SLOW_SHARE && `${lateSlow} of ${lateSlow + lateFast} new connections (${round(share * 100)}%) reached the slow instance`,
          !(slow.alive() && fast.alive()) && 'a relay exited',
        ],
      ),
    );
  },
};
