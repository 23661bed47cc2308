import { connect, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { seededRandom } from '../../scenarios/harness/random.js';

export { echoServer } from '../../scenarios/harness/echo.js';
export { listen } from '../../scenarios/harness/sockets.js';

/**
 * Tracks every server and socket a test opens so afterEach can close them all, and reports
 * whether anything was still open (a leak is a failure, not a hang).
 */
export class Resources {
  private readonly servers = new Set<Server>();
  private readonly sockets = new Set<Socket>();
  private readonly cleanups: (() => unknown)[] = [];

  server(server: Server): Server {
    this.servers.add(server);
    server.on('connection', (s: Socket) => this.socket(s));
    return server;
  }

  socket(socket: Socket): Socket {
    this.sockets.add(socket);
    // Teardown resets whatever is left; tests that care about an error listen for it themselves.
    socket.on('error', () => {});
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }

  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  /** Sockets still open right now. */
  get openSockets(): number {
    return [...this.sockets].filter((s) => !s.destroyed).length;
  }

  async closeAll(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([...this.servers].map((srv) => new Promise<void>((r) => (srv.listening ? srv.close(() => r()) : r()))));
    this.servers.clear();
  }
}

/** Connects and resolves once connected. */
export function connectTo(port: number, host = '127.0.0.1', options: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host, allowHalfOpen: options.allowHalfOpen ?? true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves with the next connection a server accepts. */
export function nextConnection(server: Server): Promise<Socket> {
  return new Promise((resolve) => server.once('connection', resolve));
}

/** Resolves when a socket emits 'close'; resolves at once if it already has. */
export function closed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Resolves with the error a socket emits (or null if it closes without one). */
export function closeError(socket: Socket): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    let error: NodeJS.ErrnoException | null = null;
    socket.on('error', (e) => (error = e));
    if (socket.closed) resolve(error);
    else socket.once('close', () => resolve(error));
  });
}

/** Summary of everything a reader took: byte count and sha256. */
export interface Received {
  bytes: number;
  sha256: string;
}

/**
 * Reads a socket to its end slowly: pulls random-sized pieces (1..maxPiece) with a turn of the
 * event loop between reads, so the writer sees a consumer slower than itself.
 */
export function readSlowly(socket: Socket, seed: number, maxPiece = 8192): Promise<Received> {
  const rnd = seededRandom(seed);
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    socket.pause();
    // 'end' comes only after the buffer is drained, so it marks the last byte taken.
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('error', reject);
    const step = (): void => {
      const want = 1 + Math.floor(rnd() * maxPiece);
      const piece: Buffer | null = socket.read(Math.min(want, socket.readableLength || want)) ?? null;
      if (piece === null) {
        socket.once('readable', step);
        return;
      }
      hash.update(piece);
      bytes += piece.length;
      setImmediate(step);
    };
    step();
  });
}

/** Reads a socket to its end as fast as it can. */
export function readAll(socket: Socket): Promise<Received> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('error', reject);
  });
}

/** Writes pieces, honouring backpressure, then ends the socket. */
export async function writeAll(socket: Socket, pieces: Buffer[], end = true): Promise<void> {
  for (const p of pieces) {
    if (!socket.write(p)) await new Promise<void>((resolve, reject) => {
      const onDrain = () => { socket.off('close', onClose); resolve(); };
      const onClose = () => { socket.off('drain', onDrain); reject(new Error('socket closed while writing')); };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });
  }
  if (end) socket.end();
}

/** Polls a condition once per event-loop turn (no sleeping on a clock). */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 5_000_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** The port of a `HOST:PORT` text (as the control API's `listen` answers). */
export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

/** What a socket received so far as text, and whether its FIN came. */
export function collectText(socket: Socket): { text: () => string; ended: () => boolean } {
  let text = '';
  let ended = false;
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('end', () => (ended = true));
  return { text: () => text, ended: () => ended };
}

/** Writes `chunk` until the socket says stop, again on every drain, until it closes (a producer that never lets up). */
export function flood(socket: Socket, chunk: Buffer = Buffer.alloc(256 * 1024, 7)): void {
  const go = (): void => {
    while (!socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', go);
  go();
}
