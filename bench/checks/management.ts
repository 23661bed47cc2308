/**
 * Fault 3, the management plane starving the data plane:
 *
 *   "1100 connections each sending half a request to the metrics port, under `ulimit -n 1024`:
 *    the relay reaches 1024 fds, `/healthz` stops answering and new relay clients are closed
 *    with no data, log line or counter."
 *
 *   1100 half requests (kept at 1100) --> :metrics --+
 *   GET /healthz ------------------------> :metrics --+--> sluice relay (ulimit -n 1024) --> echo target
 *   20 relay clients (line, echo) -------> :listen  --+
 *
 * Readings chosen where the text leaves room (the stricter one each time):
 * - the slowloris is kept up: every connection the relay closes is opened again 10 ms later,
 *   for 4 s after the first 1100 connected, so the metrics port faces 1100 of them throughout; it
 *   runs in a process of its own (slowloris.ts), as an attacker would;
 * - while it lasts, /healthz must answer 200 within 3 s, and 20 relay clients one after another
 *   must each get their line echoed within 3 s (what issue 9 asks of a real client during a flood);
 * - the relay's descriptors are read from /proc/<pid>/fd every 50 ms; the most seen is reported,
 *   and must stay below the limit;
 * - refused or failed accepts must show in `sluice_accept_errors_total` or on stderr (a client
 *   turned away is never silent); the relay is still running at the end.
 */
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { spawnTracked, waitForLine } from '../../scenarios/harness/processes.js';
import { SLOWLORIS_SCRIPT } from './slowloris.js';
import { startRelay } from '../../scenarios/harness/sluice.js';
import { delay, listen, now, readExactly } from '../../scenarios/harness/sockets.js';
import { httpGet, metricSamples, round } from './support.js';
import { verdict, type Scenario } from './types.js';

const FD_LIMIT = 1024;
const SLOW_CONNECTIONS = 1100;
const HOLD_MS = 4000;
const ANSWER_WITHIN_MS = 3000;
const RELAY_CLIENTS = 20;

function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

export const managementScenario: Scenario = {
  name: 'management',
  issue: 'fault 3',
  lines: ['management/slowloris-metrics'],
  async run({ scope, sluice, report, log }) {
    const name = 'management/slowloris-metrics';
    const threshold = `under ulimit -n ${FD_LIMIT} and ${SLOW_CONNECTIONS} half requests on :metrics: /healthz 200 and ${RELAY_CLIENTS} relay clients echoed, each within ${ANSWER_WITHIN_MS} ms; fds < ${FD_LIMIT}; refusals counted or logged; relay alive`;
    if (process.platform !== 'linux') throw new Error('needs Linux (/proc/<pid>/fd)');
    const target = scope.server(net.createServer((socket) => socket.pipe(socket)));
    const limited = ['bash', '-c', `ulimit -n ${FD_LIMIT} && exec "$@"`, 'sluice', ...sluice];
    const relay = await startRelay(scope, limited, await listen(target), ['--quiet'], { metrics: true });
    const metricsPort = relay.metricsPort!;
    log(`${name}: ${SLOW_CONNECTIONS} half requests on :metrics under ulimit -n ${FD_LIMIT}, kept up ${HOLD_MS} ms`);

    let maxFds = 0;
    const sampler = scope.interval(() => (maxFds = Math.max(maxFds, openFds(relay.pid) ?? 0)), 50);

    // The attacker is a process of its own, so this one's event loop is free for the clients it measures.
    const attacker = scope.child(spawnTracked(process.execPath, [SLOWLORIS_SCRIPT, String(metricsPort), String(SLOW_CONNECTIONS), '10']));
    await waitForLine(attacker, /^slowloris connected \d+$/, 15_000, '"slowloris connected N"');
    await delay(500);
    const holdUntil = now() + HOLD_MS;

    const healthStarted = now();
    let healthStatus: number | string = 'none';
    let healthMs: number | null = null;
    try {
      const answer = await httpGet(metricsPort, '/healthz', ANSWER_WITHIN_MS);
      healthStatus = answer.status;
      healthMs = now() - healthStarted;
    } catch (err) {
      healthStatus = (err as Error).message.includes('no answer') ? 'timeout' : ((err as NodeJS.ErrnoException).code ?? 'error');
    }

    let served = 0;
    let slowestMs = 0;
    const failures: string[] = [];
    for (let i = 0; i < RELAY_CLIENTS; i++) {
      const started = now();
      const client = scope.socket(net.connect({ port: relay.port, host: '127.0.0.1' }));
      const line = Buffer.from(`relay client ${i} ${Math.random()}\n`);
      client.write(line);
      try {
        const echo = await readExactly(client, line.length, ANSWER_WITHIN_MS);
        if (echo.equals(line)) {
          served++;
          slowestMs = Math.max(slowestMs, now() - started);
        } else failures.push(`client ${i}: the echo differs`);
      } catch (err) {
        failures.push(`client ${i}: ${(err as Error).message}`);
      }
      client.destroy();
    }

    await delay(Math.max(0, holdUntil - now()));
    const attackerTotals = waitForLine(attacker, /^slowloris opened (\d+) closed-by-peer (\d+)$/, 5_000, 'the slowloris totals');
    attacker.kill('SIGTERM');
    const totals = await attackerTotals;
    clearInterval(sampler);
    // The counter is read once the flood has stopped (a scrape may be turned away while it lasts).
    await delay(500);
    let acceptErrors = 'none';
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const { body } = await httpGet(metricsPort, '/metrics', ANSWER_WITHIN_MS);
        const samples = metricSamples(body, 'sluice_accept_errors_total');
        // Evictions (slow peers closed for newcomers) apart from the rest (clients refused or lost).
        const evicted = samples.byLabels['{reason="management-evicted"}'] ?? 0;
        acceptErrors = body.includes('sluice_accept_errors_total') ? `evicted:${evicted},refused:${samples.sum - evicted}` : 'not served';
        break;
      } catch (err) {
        acceptErrors = `unreadable (${(err as Error).message})`;
        await delay(500);
      }
    }
    const refusalLogged = /accept|descriptor|cap of/i.test(relay.stderr());
    const aliveAtEnd = relay.alive();
    report(
      verdict(
        name,
        {
          maxFds,
          slowOpened: Number(totals[1]),
          slowClosedByRelay: Number(totals[2]),
          healthz: healthStatus,
          healthzMs: healthMs === null ? 'no' : round(healthMs),
          relayClientsServed: `${served}/${RELAY_CLIENTS}`,
          slowestClientMs: round(slowestMs),
          acceptErrors,
          refusalLogged,
          relayAlive: aliveAtEnd,
        },
        threshold,
        [
          healthStatus !== 200 && `/healthz did not answer 200 within ${ANSWER_WITHIN_MS} ms (${healthStatus})`,
          served < RELAY_CLIENTS && `${RELAY_CLIENTS - served} relay clients were not served: ${failures.slice(0, 3).join('; ')}`,
          maxFds >= FD_LIMIT && `the relay reached ${maxFds} descriptors`,
          maxFds >= FD_LIMIT && !acceptErrors.startsWith('evicted') && !refusalLogged && 'it ran out of descriptors with no counter and no log line',
          !aliveAtEnd && `the relay exited (${relay.child.exitCode ?? relay.child.signalCode})`,
        ],
      ),
    );
  },
};
