import { Duplex } from 'node:stream';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../scenarios/harness/random.js';

let unixCount = 0;

/** Options for an in-memory pair. */
export interface DuplexPairOptions {
  /** Cut every write into random pieces of 1..maxPiece bytes (seeded), as TCP may. */
  maxPiece?: number;
  seed?: number;
  /** Bytes a side buffers for its reader before the writer's callback waits; default 64 KiB. */
  highWaterMark?: number;
}

class End extends Duplex {
  peer!: End;
  private waiting: (() => void) | null = null;
  private readonly pieces: ((n: number) => number) | null;

  constructor(options: DuplexPairOptions) {
    super({ allowHalfOpen: true, readableHighWaterMark: options.highWaterMark ?? 64 * 1024 });
    const rnd = options.maxPiece ? seededRandom(options.seed ?? 1) : null;
    this.pieces = rnd ? (n) => Math.min(n, 1 + Math.floor(rnd() * options.maxPiece!)) : null;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(Object.assign(new Error('peer closed'), { code: 'EPIPE' }));
    // Copied, as a socket would: the writer may reuse its buffer once called back.
    const bytes = Buffer.from(chunk);
    let room = true;
    for (let at = 0; at < bytes.length; ) {
      const n = this.pieces ? this.pieces(bytes.length - at) : bytes.length;
      room = this.peer.push(bytes.subarray(at, at + n));
      at += n;
    }
    if (room) callback();
    else this.peer.waiting = () => callback();
  }

  override _read(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

/** Two connected in-memory duplexes with backpressure, like the two ends of a socket. */
export function duplexPair(options: DuplexPairOptions = {}): [Duplex, Duplex] {
  const a = new End(options);
  const b = new End(options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** The transports the tunnel tests run over. */
export type LinkKind = 'memory' | 'tcp' | 'unix';

/** A connected pair of the given kind: [dialer side, acceptor side], and a function closing what is left. */
export async function linkPair(kind: LinkKind, options: DuplexPairOptions = {}): Promise<{ dialer: Duplex; acceptor: Duplex; close: () => Promise<void> }> {
  if (kind === 'memory') {
    const [dialer, acceptor] = duplexPair(options);
    return { dialer, acceptor, close: async () => void dialer.destroy() };
  }
  const server = createServer({ noDelay: true });
  const path = kind === 'unix' ? join(tmpdir(), `sluice-test-${process.pid}-${++unixCount}.sock`) : null;
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const dialer = path ? connect({ path }) : connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((resolve, reject) => {
    dialer.once('connect', resolve);
    dialer.once('error', reject);
  });
  const acceptor = await accepted;
  for (const s of [dialer, acceptor]) s.on('error', () => {});
  return {
    dialer,
    acceptor,
    close: async () => {
      dialer.destroy();
      acceptor.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
