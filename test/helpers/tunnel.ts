import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  TunnelClient,
  TunnelServer,
  type AccessLogEntry,
  type Address,
  type TunnelClientOptions,
  type TunnelServerOptions,
} from '../../proxy/index.js';
import { listen, type Resources } from './sockets.js';

/** 127.0.0.1:port as an Address. */
export const tcp = (port: number): Address => ({ kind: 'tcp', host: '127.0.0.1', port });

/** A tunnel-client and tunnel-server back to back, in this process, with their logs. */
export interface Tunnel {
  server: TunnelServer;
  client: TunnelClient;
  serverPort: number;
  /** Where plain TCP clients connect. */
  port: number;
  serverLogs: AccessLogEntry[];
  clientLogs: AccessLogEntry[];
  linkLines: string[];
  /** Shuts both down (drain 0) if still running. */
  close(): Promise<void>;
}

/** Starts a tunnel to `target`. */
export async function startTunnel(
  target: Address,
  serverOptions: Partial<TunnelServerOptions> = {},
  clientOptions: Partial<TunnelClientOptions> = {},
): Promise<Tunnel> {
  const serverLogs: AccessLogEntry[] = [];
  const clientLogs: AccessLogEntry[] = [];
  const linkLines: string[] = [];
  const server = new TunnelServer({
    listen: tcp(0),
    target,
    onAccessLog: (e) => serverLogs.push(e),
    onLinkLog: (l) => linkLines.push(`server: ${l}`),
    ...serverOptions,
  });
  const serverAddress = await server.listen();
  const serverPort = serverAddress.kind === 'tcp' ? serverAddress.port : 0;
  const client = new TunnelClient({
    listen: tcp(0),
    server: tcp(serverPort),
    onAccessLog: (e) => clientLogs.push(e),
    onLinkLog: (l) => linkLines.push(`client: ${l}`),
    ...clientOptions,
  });
  const clientAddress = await client.listen();
  let closed = false;
  return {
    server,
    client,
    serverPort,
    port: clientAddress.kind === 'tcp' ? clientAddress.port : 0,
    serverLogs,
    clientLogs,
    linkLines,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([client.shutdown(0), server.shutdown(0)]);
    },
  };
}

/** What a hashing target saw on one connection. */
export interface Seen {
  bytes: number;
  sha256: string;
}

/**
 * A target that reads each connection to its end, then answers with `<bytes> <sha256>\n` and
 * ends. Connections can be stalled (not read) until released.
 */
export class HashingTarget {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  readonly seen: Seen[] = [];
  private stallNext = 0;
  private readonly stalled: Socket[] = [];

  constructor(resources: Resources) {
    this.server = resources.server(
      createServer({ allowHalfOpen: true }, (socket) => {
        this.sockets.push(socket);
        const hash = createHash('sha256');
        let bytes = 0;
        socket.on('data', (d: Buffer) => {
          hash.update(d);
          bytes += d.length;
        });
        socket.once('end', () => {
          const seen = { bytes, sha256: hash.digest('hex') };
          this.seen.push(seen);
          socket.end(`${seen.bytes} ${seen.sha256}\n`);
        });
        if (this.stallNext > 0) {
          this.stallNext--;
          socket.pause();
          this.stalled.push(socket);
        }
      }),
    );
  }

  /** Listens on 127.0.0.1:0; resolves with the port. */
  listen(): Promise<number> {
    return listen(this.server);
  }

  /** The next `n` connections are not read until release(). */
  stall(n = 1): void {
    this.stallNext += n;
  }

  /** Stalled connections so far. */
  get stalledCount(): number {
    return this.stalled.length;
  }

  /** Starts reading the stalled connections. */
  release(): void {
    for (const s of this.stalled.splice(0)) s.resume();
  }
}

/** Parses a HashingTarget reply. */
export function parseSeen(reply: Buffer): Seen {
  const [bytes, sha256] = reply.toString('utf8').trim().split(' ');
  return { bytes: Number(bytes), sha256: sha256 ?? '' };
}
