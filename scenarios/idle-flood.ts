/**
 * Issue 9's connection flood: many idle connections against a relay with a connection limit and
 * an idle timeout; the target must never hold more than the limit, and a real client must still
 * be served.
 *
 *   N idle clients (optionally reopened as the relay closes them) --+
 *                                                                   +--> [relay under test] --> echo target
 *   1 real client (request, FIN, echo) -----------------------------+       (counts what it holds)
 *
 * The caller brings the relay (in process, or the CLI) with its limits, the flood's size and how
 * long to keep it up, and makes its own assertions from what comes back.
 */
import { connect as netConnect, createServer, type Socket } from 'node:net';
import type { Scope } from './harness/scope.js';
import { connect, delay, listen, now, socketEnd, until, within, type SocketEnd } from './harness/sockets.js';

/** What to run: see the module comment. */
export interface IdleFloodOptions {
  /** Owns the target and every client. */
  scope: Scope;
  /** Starts the relay under test in front of `targetPort`; resolves with its port. */
  start(targetPort: number): Promise<number>;
  /** Idle connections opened at once. */
  idle: number;
  /** Once they are connected, keep the flood up this long, opening again each one the relay closes (0: each opened once). */
  holdMs: number;
  /** How long the real client may take, connect to FIN (default 5 s). */
  realTimeoutMs?: number;
}

/** What happened; see IdleFloodOptions. */
export interface IdleFloodObservations {
  /** The most connections the target held at once (it counts accepts and closes itself). */
  maxAtTarget: number;
  targetAccepted: number;
  /** Idle connections opened in all (reopenings included), connected, closed by the relay once connected, refused. */
  idleOpened: number;
  idleConnected: number;
  idleClosedByRelay: number;
  idleConnectErrors: number;
  /** ms from the first idle connection until all `idle` had connected. */
  filledMs: number;
  /** The real client, sent once the flood was full: ms from its connect until its whole echo was back, or why it was not served; then how its connection ended. */
  real: { servedMs: number; end: SocketEnd | null } | { error: string };
}

/** Runs the flood once; see the module comment. */
export async function idleFlood(opts: IdleFloodOptions): Promise<IdleFloodObservations> {
  const { scope } = opts;
  let open = 0;
  let maxAtTarget = 0;
  let targetAccepted = 0;
  const target = scope.server(
    createServer({ allowHalfOpen: true }, (socket: Socket) => {
      targetAccepted++;
      open++;
      maxAtTarget = Math.max(maxAtTarget, open);
      socket.once('close', () => open--);
      socket.pipe(socket);
    }),
  );
  const port = await opts.start(await listen(target));

  let flooding = true;
  let idleOpened = 0;
  let idleConnected = 0;
  let idleClosedByRelay = 0;
  let idleConnectErrors = 0;
  const openIdle = (): void => {
    idleOpened++;
    // Not the harness's connect(): the flood counts refusals instead of failing on them.
    const socket = scope.socket(netConnect({ port, host: '127.0.0.1' }));
    let wasConnected = false;
    socket.once('connect', () => {
      wasConnected = true;
      idleConnected++;
    });
    socket.on('error', () => {
      if (!wasConnected) idleConnectErrors++;
    });
    socket.resume();
    socket.once('close', () => {
      if (wasConnected) idleClosedByRelay++;
      if (flooding && opts.holdMs > 0) openIdle();
    });
  };
  const floodStarted = now();
  for (let i = 0; i < opts.idle; i++) openIdle();
  await until(() => idleConnected >= opts.idle, `${opts.idle} idle connections connected`, 15_000);
  const filledMs = now() - floodStarted;
  const holdUntil = now() + opts.holdMs;

  const real = await realClient(scope, port, opts.realTimeoutMs ?? 5000);
  await delay(Math.max(0, holdUntil - now()));
  flooding = false;
  return { maxAtTarget, targetAccepted, idleOpened, idleConnected, idleClosedByRelay, idleConnectErrors, filledMs, real };
}

/** Sends a line and FIN, and waits for the whole echo, then for the end of the connection. */
async function realClient(scope: Scope, port: number, timeoutMs: number): Promise<IdleFloodObservations['real']> {
  const started = now();
  try {
    const socket = await connect(scope, port, timeoutMs, { allowHalfOpen: true });
    const request = Buffer.from(`real client ${Math.random()}\n`);
    let got = Buffer.alloc(0);
    let echoedAt = 0;
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (echoedAt === 0 && got.length >= request.length) echoedAt = now();
    });
    const ended = socketEnd(socket);
    socket.end(request);
    const end = await within(ended, Math.max(0, timeoutMs - (now() - started)));
    if (echoedAt === 0) return { error: `got ${got.length} of ${request.length} bytes back${end ? `, then ${end.how}${end.code ? ` ${end.code}` : ''}` : ` within ${timeoutMs} ms`}` };
    if (!got.subarray(0, request.length).equals(request)) return { error: 'the echo differs from the request' };
    return { servedMs: echoedAt - started, end };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
