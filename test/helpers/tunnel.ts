import {
  TunnelClient,
  TunnelServer,
  type AccessLogEntry,
  type Address,
  type TunnelClientOptions,
  type TunnelServerOptions,
} from '../../proxy/index.js';

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
