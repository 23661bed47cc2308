import type { Address } from '../net/address.js';
import { UsageError, type ParsedOptions } from '../options/parse.js';
import { clientTlsOptions } from '../net/tls-options.js';
import { TunnelClient, TUNNEL_CLIENT_DEFAULTS, type TunnelClientOptions } from '../tunnel/client.js';
import { formatDuration } from '../config/units.js';
import type { Command } from './command.js';
import { serveTunnelSidecar, tlsMaterial, TUNNEL_OPTIONS, tunnelSettings } from './tunnel-options.js';

/** `sluice tunnel-client`: plain TCP in, every connection a stream on a link to the tunnel server. */
export const tunnelClientCommand: Command = {
  name: 'tunnel-client',
  summary: 'plain TCP in, framed links out (yamux): every connection becomes a stream to the tunnel server',
  usage: 'sluice tunnel-client --listen HOST:PORT --server HOST:PORT [options]',
  examples: [
    'sluice tunnel-client --listen 127.0.0.1:7000 --server 127.0.0.1:7100',
    'sluice tunnel-client --listen 127.0.0.1:7000 --server db.internal:7100 --tls-cert client.pem --tls-key client-key.pem --tls-ca ca.pem',
    'sluice tunnel-client --listen 127.0.0.1:7000 --server 127.0.0.1:7100 --links 4 --keepalive 10s --metrics 127.0.0.1:9100',
    'sluice tunnel-client --listen 127.0.0.1:7000 --server 127.0.0.1:7100 --send-proxy v2',
  ],
  options: [
    { name: 'listen', kind: 'address', required: true, help: 'where clients connect (port 0 picks a free one)' },
    { name: 'server', kind: 'address', required: true, help: 'the tunnel server (sluice tunnel-server or any yamux server)' },
    { name: 'links', kind: 'count', default: String(TUNNEL_CLIENT_DEFAULTS.links), min: 1, max: 64, help: 'links to keep up and spread streams over (fewest streams first)' },
    { name: 'link-wait', kind: 'duration', default: formatDuration(TUNNEL_CLIENT_DEFAULTS.linkWaitMs), min: 1, help: 'how long a new connection waits for a usable link before it is closed' },
    { name: 'tls-servername', kind: 'string', help: "name the server's certificate must carry (default: the --server host)" },
    ...TUNNEL_OPTIONS,
  ],
  run: runTunnelClient,
};

async function runTunnelClient(o: ParsedOptions): Promise<number> {
  return serveTunnelSidecar('tunnel-client', new TunnelClient(tunnelClientOptions(o)), o, 'no longer accepting');
}

/** The TunnelClient options from parsed flags (TLS files read); throws UsageError for a bad combination. */
export function tunnelClientOptions(o: ParsedOptions): TunnelClientOptions {
  const settings = tunnelSettings(o);
  const tls = tlsMaterial(o);
  if (!tls && o['tls-servername'] !== undefined) throw new UsageError('--tls-servername needs --tls-cert, --tls-key and --tls-ca');
  return {
    listen: o.listen as Address,
    server: o.server as Address,
    tls: tls ? clientTlsOptions(tls, o['tls-servername'] as string | undefined) : null,
    links: o.links as number,
    linkWaitMs: o['link-wait'] as number,
    ...settings,
  };
}
