import { createServer, type Server, type Socket } from 'node:net';
import { connectTo, type Resources } from './sockets.js';

/** What a socket has received so far. */
export interface Collected {
  chunks: Buffer[];
  ended: boolean;
  readonly text: string;
  readonly bytes: number;
}

/** Collects what `socket` receives from now on. */
export function collect(socket: Socket): Collected {
  const c: Collected = {
    chunks: [],
    ended: false,
    get text() {
      return Buffer.concat(this.chunks).toString();
    },
    get bytes() {
      return this.chunks.reduce((n, b) => n + b.length, 0);
    },
  };
  socket.on('data', (d: Buffer) => c.chunks.push(d));
  socket.on('end', () => (c.ended = true));
  return c;
}

/** Polls `condition` once per event-loop turn; fails naming `what` after many turns (no clock involved, so fake timers do not stop it). */
export async function untilTurns(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 50_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** A target that keeps every connection it accepts, with what each has received. */
export interface HoldingTarget {
  server: Server;
  sockets: Socket[];
  received: Collected[];
}

/** A HoldingTarget whose server and sockets `res` closes. */
export function holdingTarget(res: Resources): HoldingTarget {
  const sockets: Socket[] = [];
  const received: Collected[] = [];
  const server = res.server(
    createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      received.push(collect(s));
    }),
  );
  return { server, sockets, received };
}

/** A connection relayed to a HoldingTarget: the client socket, the target's socket, what each has received (a line each way already through, then forgotten). */
export interface RelayedConnection {
  client: Socket;
  target: Socket;
  atClient: Collected;
  atTarget: Collected;
}

/** Opens a connection through the relay on 127.0.0.1:port to `held` and passes a line each way (so message mode lets it through too). */
export async function relayed(res: Resources, port: number, held: HoldingTarget): Promise<RelayedConnection> {
  const n = held.sockets.length;
  const client = res.socket(await connectTo(port));
  const atClient = collect(client);
  await untilTurns(() => held.sockets.length === n + 1, 'the target connection');
  const target = held.sockets[n]!;
  const atTarget = held.received[n]!;
  client.write('>\n');
  target.write('<\n');
  await untilTurns(() => atTarget.bytes === 2 && atClient.bytes === 2, 'a line each way');
  atTarget.chunks.length = 0;
  atClient.chunks.length = 0;
  return { client, target, atClient, atTarget };
}
