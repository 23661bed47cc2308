import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetricsRegistry, RelayServer } from '../../../proxy/index.js';
import { registerProcessMetrics } from '../../../proxy/signals/process-metrics.js';
import { connectTo, echoServer, listen, readAll, Resources, until } from '../../helpers/sockets.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';
import { Fleet } from '../../../proxy/serve/fleet.js';

const README = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');

/** The metric names README documents in the part between `start` and `end` (headings or lines). */
function documentedNames(start: string, end: string): string[] {
  const from = README.indexOf(start);
  const to = README.indexOf(end, from + start.length);
  expect(from, `README has "${start}"`).to.be.at.least(0);
  expect(to, `README has "${end}" after "${start}"`).to.be.above(from);
  const names = README.slice(from, to).match(/`((?:sluice|process|nodejs)_[a-z_]+)/g) ?? [];
  // `sluice_connections_*` stands for a group listed elsewhere, not a name.
  return [...new Set(names.map((n) => n.slice(1)).filter((n) => !n.endsWith('_')))];
}

/** The metric families a registry serves (its `# TYPE` lines). */
function servedNames(registry: MetricsRegistry): Set<string> {
  return new Set([...registry.render().matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

/** Families only `sluice serve` has. */
const SERVE_ONLY = ['sluice_config_reloads_total', 'sluice_proxies'];

describe('README metric lists against what is served', () => {
  const res = new Resources();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await res.closeAll();
  });

  it('a relay with messages, spill, adaptive concurrency and --accept-proxy serves every metric of the Metrics table', async () => {
    const spillDir = mkdtempSync(join(tmpdir(), 'sluice-readme-metrics-'));
    cleanups.push(() => rmSync(spillDir, { recursive: true, force: true }));
    const target = echoServer(res);
    const relay = new RelayServer({
      listen: tcp(0),
      target: tcp(await listen(target)),
      messages: 'lines',
      overflow: 'spill',
      spillDir,
      adaptiveConcurrency: true,
      acceptProxy: true,
    });
    cleanups.push(() => relay.shutdown(0));
    const address = await relay.listen();
    const registry = new MetricsRegistry();
    relay.registerMetrics(registry);
    registerProcessMetrics(registry);

    const documented = documentedNames('## Metrics', '## Library');
    expect(documented.length).to.be.at.least(20);
    const served = servedNames(registry);
    // sluice_workers is the --workers primary's own family (test/proxy/cli/cli.test.ts scrapes it
    // there); the serve-only families are checked against a fleet below.
    const elsewhere = new Set(['sluice_workers', ...SERVE_ONLY]);
    const missing = documented.filter((name) => !elsewhere.has(name) && !served.has(name));
    expect(missing, 'documented but not served').to.deep.equal([]);

    // And the families carry figures once traffic has passed.
    const client = res.socket(await connectTo(address.kind === 'tcp' ? address.port : 0));
    const reply = readAll(client);
    client.end('PROXY TCP4 192.0.2.7 192.0.2.1 5000 80\r\none\ntwo\n');
    await reply;
    await until(() => /^sluice_messages_forwarded_total 2$/m.test(registry.render()), 'two messages counted');
    expect(registry.render()).to.match(/^sluice_proxy_headers_total\{result="v1"\} 1$/m);
  });

  it('sluice serve\'s fleet serves its own families README names', () => {
    const fleet = new Fleet({ drainTimeoutMs: 0 });
    const registry = new MetricsRegistry();
    fleet.registerMetrics(registry);
    const served = servedNames(registry);
    expect(SERVE_ONLY.filter((name) => !served.has(name))).to.deep.equal([]);
    expect(documentedNames('## Metrics', '## Library')).to.include.members(SERVE_ONLY);
  });

  it('a tunnel-client and tunnel-server with a stream open serve every tunnel metric README names', async () => {
    const target = echoServer(res);
    const tunnel: Tunnel = await startTunnel(tcp(await listen(target)));
    cleanups.push(() => tunnel.close());
    const client = res.socket(await connectTo(tunnel.port));
    client.write('hello');
    await new Promise((r) => client.once('data', r));

    const clientRegistry = new MetricsRegistry();
    tunnel.client.registerMetrics(clientRegistry);
    const serverRegistry = new MetricsRegistry();
    tunnel.server.registerMetrics(serverRegistry);
    const onClient = servedNames(clientRegistry);
    const onServer = servedNames(serverRegistry);

    const documented = documentedNames('**Metrics** (`--metrics HOST:PORT`), besides', '\n\n');
    expect(documented.length).to.be.at.least(15);
    const clientOnly = ['sluice_tunnel_link_reconnects_total', 'sluice_tunnel_link_waiters', 'sluice_tunnel_link_wait_timeouts_total'];
    const serverOnly = ['sluice_tunnel_handshakes_refused_total'];
    for (const name of documented) {
      if (!serverOnly.includes(name)) expect(onClient.has(name), `tunnel-client serves ${name}`).to.equal(true);
      if (!clientOnly.includes(name)) expect(onServer.has(name), `tunnel-server serves ${name}`).to.equal(true);
    }
    client.end();
  });
});
