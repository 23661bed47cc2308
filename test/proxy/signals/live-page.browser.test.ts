import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { MetricsRegistry, RelayServer, startHttpEndpoints } from '../../../proxy/index.js';
import { registerProcessMetrics } from '../../../proxy/signals/process-metrics.js';
import { browserMissing, launchChromium } from '../../../scenarios/harness/chromium.js';
import { connectTo, flood, listen, Resources, until } from '../../helpers/sockets.js';
import { getText } from '../../helpers/http.js';
import { tcp } from '../../helpers/tunnel.js';

/**
 * The live page in a real browser: Debian's chromium, headless, against a relay whose target has
 * stalled. "Soon" is counted in the page's own refreshes (it polls once a second), not in time.
 */

/** The value of one sample in Prometheus text, by name and exact label text; null when absent. */
function sampleOf(metrics: string, name: string, labels: Record<string, string> | null): number | null {
  const labelText = labels ? `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}` : '';
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}${labelText} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Figures whose value does not move while the one connection is stalled (pressure and RSS do). */
const STEADY = new Set([
  'sluice_connections_active',
  'sluice_connections_queued',
  'sluice_connections_total',
  'sluice_bytes_total',
  'sluice_bytes_buffered',
  'sluice_memory_used_bytes',
  'sluice_memory_budget_bytes',
  'sluice_messages_dropped_total',
  'sluice_spill_bytes',
  'sluice_concurrency_limit',
]);

describe('live page in a real browser (headless chromium)', function () {
  this.timeout(60_000);
  const res = new Resources();
  const servers: RelayServer[] = [];
  let browser: Browser | null = null;
  let page: Page | null = null;
  const problems: string[] = [];

  before(async function () {
    const missing = browserMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    page = null;
    problems.length = 0;
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  /** A relay (64 KiB window) to a target that reads nothing, its metrics port, and the page open on it. */
  async function open(): Promise<{ server: RelayServer; relayPort: number; metricsPort: number; targets: Socket[] }> {
    const targets: Socket[] = [];
    const target = res.server(createServer({ allowHalfOpen: true }, (s) => (s.pause(), targets.push(s))));
    const server = new RelayServer({ listen: tcp(0), target: tcp(await listen(target)), windowBytes: 64 * 1024 });
    servers.push(server);
    const address = await server.listen();
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    registerProcessMetrics(registry);
    const endpoints = await startHttpEndpoints(tcp(0), registry, () => server.health(), { connections: (limit) => server.connections(limit) });
    res.defer(() => endpoints.close());
    const metricsPort = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    const origin = `http://127.0.0.1:${metricsPort}`;

    page = await browser!.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('request', (r) => {
      if (r.method() !== 'GET' || !r.url().startsWith(`${origin}/`)) problems.push(`foreign request: ${r.method()} ${r.url()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`answer ${r.status()} for ${r.url()}`);
    });
    await page.goto(`${origin}/`);
    await refreshesAtLeast(1);
    return { server, relayPort: address.kind === 'tcp' ? address.port : 0, metricsPort, targets };
  }

  // This project's TypeScript has no DOM types: page-side code sees the document through this shape,
  // or is passed as text (evaluate only: waitForFunction would eval text, which the page's CSP forbids).
  type PageGlobals = { document: { body: { dataset: Record<string, string | undefined> } } };
  const refreshes = async (): Promise<number> => Number(await page!.evaluate("document.body.dataset.refreshes || '0'"));
  const refreshesAtLeast = (n: number) =>
    page!.waitForFunction((least) => Number((globalThis as unknown as PageGlobals).document.body.dataset.refreshes ?? '0') >= least, n, { timeout: 30_000 });


  it('loads with no console errors, and asks only its own origin, only with GET', async () => {
    await open();
    await refreshesAtLeast(3);
    expect(problems).to.deep.equal([]);
    expect(await page!.textContent('#health')).to.match(/\/healthz 200/);
    expect(await page!.isVisible('#connections-empty')).to.equal(true);
  });

  it('a connection held back by a stalled target shows within two refreshes, with its client port and a full bar; it goes within two refreshes of closing', async () => {
    const { server, relayPort, targets } = await open();
    const client = res.socket(await connectTo(relayPort));
    flood(client);
    await until(() => server.connections(1).connections[0]?.clientToTarget?.held === true, 'the client held back');
    const heldAt = await refreshes();

    const row = `#connections tbody tr.held[data-client="127.0.0.1:${client.localPort}"]`;
    await page!.waitForSelector(`${row} td.dir .bar.full`, { timeout: 30_000 });
    expect((await refreshes()) - heldAt).to.be.at.most(2);
    expect(await page!.getAttribute(`${row} td.dir .bar`, 'data-fill')).to.equal('1.00');
    expect(await page!.textContent(`${row} td.client`)).to.equal(`127.0.0.1:${client.localPort}`);
    expect(await page!.textContent(`${row} td.held-text`)).to.match(/→ held [\d.]+ m?s \(window\)/);

    targets[0]!.destroy();
    await until(() => server.connections(1).total === 0, 'the connection gone');
    const goneAt = await refreshes();
    await page!.waitForSelector('#connections tbody tr', { state: 'detached', timeout: 30_000 });
    expect((await refreshes()) - goneAt).to.be.at.most(2);
    expect(problems).to.deep.equal([]);
  });

  it('updates each connection row in place: the same element from refresh to refresh, its age moving on (rebuilding rows cost the browser ~0.1 s per refresh)', async () => {
    const { server, relayPort } = await open();
    const client = res.socket(await connectTo(relayPort));
    await until(() => server.connections(1).total === 1, 'the connection listed');
    const row = `#connections tbody tr[data-client="127.0.0.1:${client.localPort}"]`;
    await page!.waitForSelector(row, { timeout: 30_000 });
    // A mark only this element carries: a row built afresh would not have it.
    await page!.evaluate(`document.querySelector('${row}').dataset.mark = 'kept'`);
    const age = await page!.textContent(`${row} td:nth-child(6)`);
    await refreshesAtLeast((await refreshes()) + 2);
    expect(await page!.getAttribute(row, 'data-mark')).to.equal('kept');
    expect(await page!.textContent(`${row} td:nth-child(6)`)).to.not.equal(age);
    expect(await page!.locator('#connections tbody tr').count()).to.equal(1);
    expect(problems).to.deep.equal([]);
  });

  it('the figures match /metrics', async () => {
    const { server, relayPort, metricsPort } = await open();
    const client = res.socket(await connectTo(relayPort));
    flood(client);
    await until(() => server.connections(1).connections[0]?.clientToTarget?.held === true, 'the client held back');
    // Two refreshes after the stall: the page has read the steady figures at least once.
    await refreshesAtLeast((await refreshes()) + 2);

    const metrics = await getText(metricsPort, '/metrics');
    const figures = (await page!.evaluate(
      "[...document.querySelectorAll('[data-metric]')].map((e) => ({ name: e.dataset.metric, labels: e.dataset.labels || null, value: e.dataset.value || '', text: e.textContent }))",
    )) as { name: string; labels: string | null; value: string; text: string }[];
    let compared = 0;
    for (const f of figures) {
      const want = sampleOf(metrics, f.name, f.labels ? (JSON.parse(f.labels) as Record<string, string>) : null);
      const what = `${f.name}${f.labels ?? ''} shown as "${f.text}"`;
      if (want === null) {
        expect([f.value, f.text], what).to.deep.equal(['', '–']);
        continue;
      }
      expect(f.value, what).to.not.equal('');
      if (STEADY.has(f.name)) {
        expect(Number(f.value), what).to.equal(want);
        compared++;
      }
    }
    expect(compared).to.be.at.least(8);
    expect(sampleOf(metrics, 'sluice_connections_active', null)).to.equal(1);
    expect(problems).to.deep.equal([]);
  });
});
