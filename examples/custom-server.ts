/**
 * A small framed socket server built on sluice's TunnelSession: an echo service with per-stream
 * accounting. Each TCP connection carries many streams (yamux framing, so any yamux client can use
 * it too); the server sends every stream back through pipeline(), which honours write() === false,
 * so a client that reads one stream slowly holds back that stream alone: its window fills, the
 * server stops reading it, and the client's writes to it wait, while the other streams go on.
 *
 *   node dist/examples/custom-server.js [--jobs 4] [--size 4MiB] [--slow-rate 4MiB]   the demo
 *   node dist/examples/custom-server.js --serve 127.0.0.1:7400     only the server
 *
 * The demo runs `jobs` streams at once over one connection, the first read at `slow-rate` per second,
 * checks every echo with sha256, and prints when each finished.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type Server } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatAddress, parseAddress, parseSize, TunnelSession, type TunnelStream } from '../proxy/index.js';

/** Starts the echo server; every connection is an acceptor session, every stream is echoed. */
export function startEchoServer(onStreamDone: (streamId: number, bytes: number) => void = () => {}): Server {
  return createServer({ noDelay: true }, (socket) => {
    const session = new TunnelSession(socket, { role: 'acceptor' });
    session.on('stream', (stream: TunnelStream) => {
      let bytes = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      pipeline(stream, count, stream).then(
        () => onStreamDone(stream.streamId, bytes),
        () => stream.destroy(),
      );
    });
    session.on('close', () => socket.destroy());
  });
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

/** Runs one job on a new stream: sends `data`, reads the echo at `readBytesPerS` (0: at once), checks it. */
async function job(session: TunnelSession, data: Buffer, readBytesPerS: number): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const stream = session.open();
  const hash = createHash('sha256');
  let bytes = 0;
  const reading = (async () => {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (readBytesPerS > 0) await new Promise((r) => setTimeout(r, ((chunk as Buffer).length / readBytesPerS) * 1000));
    }
  })();
  for (let at = 0; at < data.length; at += 64 * 1024) {
    if (!stream.write(data.subarray(at, at + 64 * 1024))) await once(stream, 'drain');
  }
  stream.end();
  await reading;
  const ok = bytes === data.length && hash.digest('hex') === createHash('sha256').update(data).digest('hex');
  return { ok, ms: performance.now() - started };
}

async function demo(jobs: number, size: number, slowBytesPerS: number): Promise<void> {
  const server = startEchoServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  const session = new TunnelSession(socket, { role: 'dialer' });
  const blobs = Array.from({ length: jobs }, (_, i) => Buffer.alloc(size, i + 1));
  const results = await Promise.all(blobs.map((blob, i) => job(session, blob, i === 0 ? slowBytesPerS : 0)));
  for (const [i, r] of results.entries()) {
    const what = i === 0 ? `reader at ${formatMiB(slowBytesPerS)}/s` : 'fast reader';
    process.stdout.write(`stream ${2 * i + 1} (${what}): ${formatMiB(size)} echoed in ${r.ms.toFixed(0)} ms, ${r.ok ? 'intact' : 'CORRUPT'}\n`);
  }
  const stats = session.stats();
  process.stdout.write(`round trip ${(await session.ping()).toFixed(2)} ms; window updates sent ${stats.windowUpdatesSent}, received ${stats.windowUpdatesReceived}\n`);
  await session.close();
  server.close();
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

const serve = flag('serve');
if (serve !== undefined) {
  const address = parseAddress(serve);
  const server = startEchoServer((id, bytes) => process.stdout.write(`stream ${id}: ${bytes} bytes echoed\n`));
  server.listen(address.kind === 'tcp' ? { host: address.host, port: address.port } : { path: address.path }, () => {
    const a = server.address();
    process.stdout.write(`echo server listening on ${typeof a === 'object' && a ? formatAddress({ kind: 'tcp', host: a.address, port: a.port }) : String(a)}\n`);
  });
} else {
  demo(Number(flag('jobs') ?? '4'), parseSize(flag('size') ?? '4MiB'), parseSize(flag('slow-rate') ?? '4MiB')).catch((err: unknown) => {
    process.stderr.write(`custom-server: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
