import { formatAddress, isLoopback, type Address } from '../net/address.js';
import { UsageError, type ParsedOptions } from '../options/parse.js';
import { serverTlsOptions } from '../net/tls-options.js';
import { TunnelServer, type TunnelServerOptions } from '../tunnel/server.js';
import { TUNNEL_DEFAULTS } from '../tunnel/defaults.js';
import { formatDuration } from '../config/units.js';
import type { Command } from './command.js';
import { serveTunnelSidecar, tlsMaterial, TUNNEL_OPTIONS, tunnelSettings } from './tunnel-options.js';

/** `sluice tunnel-server`: framed links in, one TCP connection to the fixed target per stream. */
export const tunnelServerCommand: Command = {
  name: 'tunnel-server',
  summary: 'framed links in (yamux), plain TCP out: every stream becomes a connection to the one fixed target',
  usage: 'sluice tunnel-server --listen HOST:PORT --target HOST:PORT [options]',
  examples: [
    'sluice tunnel-server --listen 127.0.0.1:7100 --target 127.0.0.1:6379',
    'sluice tunnel-server --listen 0.0.0.0:7100 --target 127.0.0.1:5432 --tls-cert server.pem --tls-key server-key.pem --tls-ca ca.pem',
    'sluice tunnel-server --listen 127.0.0.1:7100 --target 127.0.0.1:8080 --max-window 4MiB --drain-timeout 10s --metrics 127.0.0.1:9101',
    'sluice tunnel-server --listen 127.0.0.1:7100 --target 127.0.0.1:6379 --accept-proxy --send-proxy v1',
  ],
  options: [
    { name: 'listen', kind: 'address', required: true, help: 'where tunnel clients connect (port 0 picks a free one)' },
    { name: 'target', kind: 'address', required: true, help: 'where every stream is connected; clients cannot choose another' },
    { name: 'handshake-timeout', kind: 'duration', default: formatDuration(TUNNEL_DEFAULTS.handshakeTimeoutMs), min: 1, help: 'a new link must finish its TLS handshake, then answer the first ping, each within this long' },
    ...TUNNEL_OPTIONS,
    { name: 'insecure', kind: 'flag', help: 'allow plain (non-TLS) links on a non-loopback --listen address' },
  ],
  run: runTunnelServer,
};

async function runTunnelServer(o: ParsedOptions): Promise<number> {
  const options = tunnelServerOptions(o);
  if (!options.tls && !isLoopback(options.listen) && o.insecure !== true) {
    throw new UsageError(
      `refusing plain links on non-loopback ${formatAddress(options.listen)}: anyone who reaches it gets the target; give --tls-cert, --tls-key and --tls-ca, or --insecure`,
    );
  }
  return serveTunnelSidecar('tunnel-server', new TunnelServer(options), o, 'going away on every link');
}

/** The TunnelServer options from parsed flags (TLS files read); throws UsageError like tunnelSettings. */
export function tunnelServerOptions(o: ParsedOptions): TunnelServerOptions {
  const settings = tunnelSettings(o);
  const tls = tlsMaterial(o);
  const handshakeTimeoutMs = o['handshake-timeout'] as number;
  return {
    listen: o.listen as Address,
    target: o.target as Address,
    tls: tls ? serverTlsOptions(tls, handshakeTimeoutMs) : null,
    handshakeTimeoutMs,
    ...settings,
  };
}
