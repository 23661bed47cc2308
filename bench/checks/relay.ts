/**
 * Issue 2, the relay:
 *
 *   "192 MiB pushed as fast as possible through `sluice relay --window 256KiB` into a consumer
 *    reading 48 MB/s arrives intact; the relay's RSS grows by at most 48 MB meanwhile (a relay
 *    that ignores write() grows by ~190 MB); the target's reply after the client's half-close
 *    arrives; a reset by the target reaches the client within 2 s; a dead target closes the
 *    client within 3 s and the relay stays up."
 *
 *   producer (as fast as allowed) --> sluice relay --window 256KiB --> consumer (48 MB/s, paced)
 *
 * Four lines. Readings chosen where the text leaves room (the stricter one each time):
 * - slow-consumer: "intact" is the sha256 of all 192 MiB and exactly 192 MiB before the FIN;
 *   RSS is VmRSS of the relay process, baseline 200 ms after its ready line, peak sampled every
 *   50 ms during the transfer; growth = peak - baseline.
 * - half-close: the target replies only once it has seen the client's FIN (so the reply must
 *   cross a half-closed connection), 1 MiB each way, both checked by sha256, and the client must
 *   then see the FIN too.
 * - target-reset: the client must see a reset (ECONNRESET); a clean close (FIN) does not count as
 *   "a reset reaching the client". Timed from the target's resetAndDestroy() call.
 * - dead-target: the target is a separate process killed with SIGKILL. Both a connection open
 *   through the relay at that moment and a new client arriving while the target is dead must be
 *   closed within 3 s; "stays up" = the relay process is still running and, once the target is
 *   back on the same port, serves a new client. A target that never answers a SYN (a dead host)
 *   cannot be made on loopback and is governed by --connect-timeout (5 s by default), not by
 *   this check.
 */
import { spawnTracked, waitForLine } from '../../scenarios/harness/processes.js';
import { RssSampler } from '../../scenarios/harness/proc-stats.js';
import { readPaced } from '../cases/slow-consumer.js';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { ECHO_TARGET_SCRIPT } from './echo-target.js';
import type { Scope } from '../../scenarios/harness/scope.js';
import { startRelay } from '../../scenarios/harness/sluice.js';
import { connect, delay, listen, MB, MiB, now, readExactly, socketEnd, writeAllAndEnd } from '../../scenarios/harness/sockets.js';
import { round } from './support.js';
import { verdict, type CheckContext, type Scenario } from './types.js';

const TOTAL_BYTES = 192 * MiB;
const CONSUMER_BYTES_PER_S = 48 * MB;
const MAX_GROWTH_MB = 48;
const RESET_WITHIN_MS = 2000;
const DEAD_TARGET_WITHIN_MS = 3000;
/** Our bound, so a lost reply fails instead of hanging; the issue names none. */
const REPLY_WITHIN_MS = 5000;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export const relayScenario: Scenario = {
  name: 'relay',
  issue: 'issue 2',
  lines: ['relay/slow-consumer', 'relay/half-close', 'relay/target-reset', 'relay/dead-target'],
  async run(ctx) {
    // Each with processes of its own, stopped before the next starts.
    const checks = [slowConsumer, halfClose, targetReset, deadTarget];
    for (const [i, check] of checks.entries()) await ctx.attempt(relayScenario.lines[i]!, (scope) => check({ ...ctx, scope }));
  },
};

async function slowConsumer({ scope, sluice, report, log }: CheckContext): Promise<void> {
  const name = 'relay/slow-consumer';
  const threshold = `192 MiB intact (sha256); RSS growth <= ${MAX_GROWTH_MB} MB`;
  log(`${name}: 192 MiB into a 48 MB/s consumer through --window 256KiB`);
  const payload = randomBytes(TOTAL_BYTES);
  const expected = sha256(payload);

  type Received = { digest: string; bytes: number; endAt: number };
  let accepted = false;
  let settle!: { resolve: (r: Received) => void; reject: (e: Error) => void };
  const received = new Promise<Received>((resolve, reject) => (settle = { resolve, reject }));
  received.catch(() => {});
  const consumer = scope.server(
    net.createServer((socket) => {
      if (accepted) return void socket.destroy();
      accepted = true;
      let bytes = 0;
      socket.on('data', (d: Buffer) => (bytes += d.length));
      const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(now())));
      readPaced(socket, TOTAL_BYTES, CONSUMER_BYTES_PER_S)
        .then(async (digest) => settle.resolve({ digest, endAt: await ended, bytes }))
        .catch((e: Error) => settle.reject(e));
    }),
  );
  const consumerPort = await listen(consumer);
  const relay = await startRelay(scope, sluice, consumerPort, ['--window', '256KiB']);

  const sampler = new RssSampler([relay.pid], 50);
  await delay(200);
  const baseline = await sampler.startFromBaseline();
  const started = now();
  let result: Received;
  try {
    const producer = await connect(scope, relay.port);
    writeAllAndEnd(producer, payload, 256 * 1024).catch(() => {});
    const timeoutMs = (TOTAL_BYTES / CONSUMER_BYTES_PER_S) * 3000 + 10_000;
    let timer: NodeJS.Timeout | undefined;
    result = await Promise.race([
      received,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`transfer not done after ${round(timeoutMs / 1000)} s`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await sampler.stop();
  }
  const seconds = (result.endAt - started) / 1000;
  const growthMB = (sampler.peakBytes - baseline) / MB;
  report(
    verdict(
      name,
      {
        MiB: TOTAL_BYTES / MiB,
        sha256: result.digest === expected ? 'ok' : 'MISMATCH',
        seconds: round(seconds, 2),
        consumerMBps: round(TOTAL_BYTES / MB / seconds),
        baselineMB: round(baseline / MB),
        peakMB: round(sampler.peakBytes / MB),
        growthMB: round(growthMB),
      },
      threshold,
      [
        result.digest !== expected && `sha256 differs (${result.digest.slice(0, 12)} vs ${expected.slice(0, 12)})`,
        result.bytes !== TOTAL_BYTES && `consumer got ${result.bytes} bytes, sent ${TOTAL_BYTES}`,
        growthMB > MAX_GROWTH_MB && `RSS grew by ${round(growthMB)} MB`,
      ],
    ),
  );
}

async function halfClose({ scope, sluice, report, log }: CheckContext): Promise<void> {
  const name = 'relay/half-close';
  const threshold = `reply sent after the client's FIN arrives intact, then FIN, within ${REPLY_WITHIN_MS} ms`;
  log(`${name}: the target answers only after the client's FIN`);
  const request = randomBytes(MiB);
  const reply = randomBytes(MiB);
  let requestDigest = '';
  let targetSawFin = false;
  const target = scope.server(
    net.createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.once('end', () => {
        targetSawFin = true;
        requestDigest = sha256(Buffer.concat(chunks));
        socket.end(reply);
      });
    }),
  );
  const relay = await startRelay(scope, sluice, await listen(target), []);
  const client = await connect(scope, relay.port, 5000, { allowHalfOpen: true });
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  const ended = socketEnd(client);
  const finAt = await writeAllAndEnd(client, request);
  const end = await Promise.race([ended, delay(REPLY_WITHIN_MS).then(() => null)]);
  const got = Buffer.concat(chunks);
  const afterMs = end ? end.at - finAt : null;
  report(
    verdict(
      name,
      {
        requestIntact: requestDigest === sha256(request),
        replyBytes: got.length,
        replyIntact: got.equals(reply),
        replyEndedAfterMs: afterMs === null ? 'never' : round(afterMs),
      },
      threshold,
      [
        !targetSawFin && "the target never saw the client's FIN",
        targetSawFin && requestDigest !== sha256(request) && 'the request arrived altered',
        !got.equals(reply) && `the client got ${got.length} bytes of a ${reply.length}-byte reply${got.length === reply.length ? ', altered' : ''}`,
        end === null && `no end of the reply within ${REPLY_WITHIN_MS} ms`,
        end !== null && end.how !== 'end' && `the reply ended with ${end.how}${end.code ? ` ${end.code}` : ''}, not a FIN`,
      ],
    ),
  );
}

async function targetReset({ scope, sluice, report, log }: CheckContext): Promise<void> {
  const name = 'relay/target-reset';
  const threshold = `client sees ECONNRESET within ${RESET_WITHIN_MS} ms`;
  log(`${name}: the target resets the connection`);
  let resetAt = 0;
  const target = scope.server(
    net.createServer((socket) => {
      socket.once('data', () => {
        resetAt = now();
        socket.resetAndDestroy();
      });
    }),
  );
  const relay = await startRelay(scope, sluice, await listen(target), []);
  const client = await connect(scope, relay.port);
  client.resume();
  const ended = socketEnd(client);
  client.write('hello\n');
  const end = await Promise.race([ended, delay(RESET_WITHIN_MS + 3000).then(() => null)]);
  const afterMs = end && resetAt > 0 ? end.at - resetAt : null;
  report(
    verdict(
      name,
      { seen: end ? (end.how === 'error' ? end.code ?? 'error' : end.how === 'end' ? 'FIN' : 'close') : 'nothing', afterMs: afterMs === null ? 'n/a' : round(afterMs) },
      threshold,
      [
        resetAt === 0 && 'the target never got the request',
        end === null && `the client saw nothing within ${RESET_WITHIN_MS + 3000} ms`,
        end !== null && !(end.how === 'error' && end.code === 'ECONNRESET') && `the client saw ${end.how === 'end' ? 'a clean FIN' : end.how === 'error' ? `error ${end.code}` : 'a close'}, not a reset`,
        afterMs !== null && afterMs > RESET_WITHIN_MS && `after ${round(afterMs)} ms`,
      ],
    ),
  );
}

async function startEchoTarget(scope: Scope, port: number): Promise<{ port: number; kill: () => Promise<void> }> {
  const child = scope.child(spawnTracked(process.execPath, [ECHO_TARGET_SCRIPT, String(port)]));
  const m = await waitForLine(child, /^echo-target listening on 127\.0\.0\.1:(\d+)$/, 10_000);
  return {
    port: Number(m[1]),
    kill: async () => {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** One echo round trip through the relay; the time it took, or the reason it failed. */
async function echoOnce(scope: Scope, port: number, timeoutMs: number): Promise<{ ms: number; socket: net.Socket } | { error: string }> {
  const started = now();
  try {
    const socket = await connect(scope, port, timeoutMs);
    const message = Buffer.from(`ping ${Math.random()}\n`);
    socket.write(message);
    const got = await readExactly(socket, message.length, timeoutMs);
    if (!got.equals(message)) return { error: 'echo differs' };
    return { ms: now() - started, socket };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function deadTarget({ scope, sluice, report, log }: CheckContext): Promise<void> {
  const name = 'relay/dead-target';
  const threshold = `open and new clients closed within ${DEAD_TARGET_WITHIN_MS} ms of the target's death; relay alive and serving after`;
  log(`${name}: the target process is killed (SIGKILL)`);
  const first = await startEchoTarget(scope, 0);
  const relay = await startRelay(scope, sluice, first.port, []);
  const failures: string[] = [];

  // A connection relaying when the target dies.
  const open = await echoOnce(scope, relay.port, 3000);
  if ('error' in open) throw new Error(`echo through the relay before the kill: ${open.error}`);
  open.socket.resume();
  const openEnded = socketEnd(open.socket);
  const killedAt = now();
  await first.kill();
  const openEnd = await Promise.race([openEnded, delay(DEAD_TARGET_WITHIN_MS + 2000).then(() => null)]);
  const openMs = openEnd ? openEnd.at - killedAt : null;
  if (openMs === null) failures.push(`the open client was not closed within ${DEAD_TARGET_WITHIN_MS + 2000} ms`);
  else if (openMs > DEAD_TARGET_WITHIN_MS) failures.push(`the open client was closed after ${round(openMs)} ms`);

  // A client arriving while the target is dead (its port refuses).
  let newMs: number | null = null;
  let newHow = 'n/a';
  const newStarted = now();
  try {
    const late = await connect(scope, relay.port, 3000);
    late.resume();
    const ended = socketEnd(late);
    late.write('anyone?\n');
    const end = await Promise.race([ended, delay(DEAD_TARGET_WITHIN_MS + 2000).then(() => null)]);
    if (end) {
      newMs = end.at - newStarted;
      newHow = end.how === 'error' ? end.code ?? 'error' : end.how === 'end' ? 'FIN' : 'close';
    }
    if (newMs === null) failures.push(`a new client was not closed within ${DEAD_TARGET_WITHIN_MS + 2000} ms`);
    else if (newMs > DEAD_TARGET_WITHIN_MS) failures.push(`a new client was closed after ${round(newMs)} ms`);
  } catch (err) {
    failures.push(`a new client could not connect to the relay: ${(err as Error).message}`);
  }

  // The relay is still up: the process runs, and serves once the target is back.
  const aliveAfterDeath = relay.alive();
  if (!aliveAfterDeath) failures.push(`the relay exited (${relay.child.exitCode ?? relay.child.signalCode})`);
  await startEchoTarget(scope, first.port);
  const again = await echoOnce(scope, relay.port, 3000);
  if ('error' in again) failures.push(`after the target came back, a client was not served: ${again.error}`);
  report(
    verdict(
      name,
      {
        openClosedAfterMs: openMs === null ? 'never' : round(openMs),
        openSaw: openEnd ? (openEnd.how === 'error' ? openEnd.code ?? 'error' : openEnd.how === 'end' ? 'FIN' : 'close') : 'nothing',
        newClosedAfterMs: newMs === null ? 'never' : round(newMs),
        newSaw: newHow,
        relayAlive: aliveAfterDeath && relay.alive(),
        servedAfterRestartMs: 'error' in again ? 'no' : round(again.ms),
      },
      threshold,
      failures,
    ),
  );
}
