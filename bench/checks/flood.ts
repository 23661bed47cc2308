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
import net from 'node:net';
import { startRelay } from '../../scenarios/harness/sluice.js';
import { connect, delay, listen, now, readExactly, until } from '../../scenarios/harness/sockets.js';
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
    let open = 0;
    let maxOpen = 0;
    let accepted = 0;
    const target = scope.server(
      net.createServer((socket) => {
        accepted++;
        open++;
        if (open > maxOpen) maxOpen = open;
        socket.once('close', () => open--);
        socket.pipe(socket);
      }),
    );
    const relay = await startRelay(scope, sluice, await listen(target), ['--max-conns', String(MAX_CONNS), '--idle-timeout', '1s']);
    log(`${name}: ${FLOOD_CONNECTIONS} idle connections, kept up ${HOLD_MS} ms, then a real client`);

    let flooding = true;
    let opened = 0;
    let connected = 0;
    let closedByRelay = 0;
    let connectErrors = 0;
    const openIdle = (): void => {
      opened++;
      const socket = scope.socket(net.connect({ port: relay.port, host: '127.0.0.1' }));
      let wasConnected = false;
      socket.once('connect', () => {
        wasConnected = true;
        connected++;
      });
      socket.on('error', () => {
        if (!wasConnected) connectErrors++;
      });
      socket.resume();
      socket.once('close', () => {
        if (wasConnected) closedByRelay++;
        if (flooding) openIdle();
      });
    };
    const floodStarted = now();
    for (let i = 0; i < FLOOD_CONNECTIONS; i++) openIdle();
    await until(() => connected >= FLOOD_CONNECTIONS, `${FLOOD_CONNECTIONS} idle connections connected`, 15_000);
    const filledMs = now() - floodStarted;
    const holdUntil = now() + HOLD_MS;

    const realStarted = now();
    let servedMs: number | null = null;
    let realError = '';
    try {
      const real = await connect(scope, relay.port, SERVED_WITHIN_MS + 2000);
      const request = Buffer.from(`real client ${Math.random()}\n`);
      real.write(request);
      const echo = await readExactly(real, request.length, SERVED_WITHIN_MS + 2000);
      if (echo.equals(request)) servedMs = now() - realStarted;
      else realError = 'the echo differs from the request';
      real.destroy();
    } catch (err) {
      realError = (err as Error).message;
    }

    await delay(Math.max(0, holdUntil - now()));
    flooding = false;
    const aliveAtEnd = relay.alive();
    report(
      verdict(
        name,
        {
          maxAtTarget: maxOpen,
          targetAccepted: accepted,
          floodOpened: opened,
          floodClosedByRelay: closedByRelay,
          floodConnectErrors: connectErrors,
          filledMs: round(filledMs),
          realServedMs: servedMs === null ? 'no' : round(servedMs),
          relayAlive: aliveAtEnd,
        },
        threshold,
        [
          maxOpen > MAX_CONNS && `the target held ${maxOpen} connections at once`,
          servedMs === null && `the real client was not served: ${realError}`,
          servedMs !== null && servedMs > SERVED_WITHIN_MS && `the real client was served after ${round(servedMs)} ms`,
          !aliveAtEnd && `the relay exited (${relay.child.exitCode ?? relay.child.signalCode})`,
        ],
      ),
    );
  },
};
