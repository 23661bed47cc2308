/**
 * The proxies of `sluice serve`, by name: each a RelayServer with its own settings, toxics and
 * metrics, started, changed and stopped by the config file (at start and on reload) and by the
 * control API. Every change goes through one queue, so fifty reloads in a second apply one after
 * the other and leave nothing half done.
 *
 *   config file --reload--+                       +--> RelayServer (listener, connections)
 *                         +--> Fleet (queue) ---> proxy "redis" -+--> retiring servers (draining)
 *   control API ----------+                       +--> toxics, settings, metrics {proxy="redis"}
 *
 * How a change reaches a proxy:
 *   - settings or upstream (same listen): a new server takes over the listening socket, so new
 *     connections get the new settings at once; the old one drains its own (reload), or drops
 *     them when the API changes the upstream (toxiproxy restarts the proxy);
 *   - listen: the new address is bound first, then the old server drains (reload) or stops (API);
 *   - enabled false, delete: listener closed and connections dropped (API) or drained (reload).
 */
import { formatAddress, type Address } from '../net/address.js';
import type { AccessLogEntry } from '../relay/access-log.js';
import { RELAY_DEFAULTS } from '../relay/defaults.js';
import { RelayServer } from '../relay/relay-server.js';
import type { SpillDirError } from '../spill/index.js';
import { ConnectionIds } from '../relay/connection-table.js';
import type { HealthStatus } from '../signals/http-endpoints.js';
import { MetricsRegistry, type FamilySnapshot } from '../signals/metrics.js';
import { mergePages, type ConnectionsPage } from '../signals/connections-view.js';
import { listensOverlap, loadConfigFile, ConfigFileError } from './config-file.js';
import { ApiError, PopulateError, type ConnectionView, type ControlTarget, type ProxyInput, type ProxyView, type ReloadResult, type ToxicInput, type ToxicView } from './control.js';
import { effectiveSettings, parseProxySpec, ProxyConfigError, sameRelay, type ProxySpec } from './proxy-config.js';
import { asApiError, parseToxic, updateToxic } from './toxic-config.js';
import { checkToxicsFit, toxicsThatFit } from '../relay/connection-toxics.js';

/** How a fleet runs its proxies. */
export interface FleetOptions {
  /** The file `reload()` re-reads (none: reload is a 400). */
  configFile?: string;
  /** How long a proxy taken out by a reload lets its connections finish. */
  drainTimeoutMs: number;
  /** Every finished connection, with the proxy it came through. */
  onAccessLog?: (entry: AccessLogEntry) => void;
  /** One-line notices (a spill disk full, a proxy that could not bind on reload). */
  onNotice?: (text: string) => void;
}

/** Where a proxy came from: a reload keeps API-made proxies the file does not name. */
type Origin = 'file' | 'api';

interface Running {
  server: RelayServer;
  registry: MetricsRegistry;
  address: Address;
}

interface Managed {
  spec: ProxySpec;
  origin: Origin;
  running: Running | null;
  /**
   * The address it last listened on. A proxy asked to listen on port 0 comes back on the same
   * port when enabled again (as toxiproxy's: clients disable and enable around a test and keep
   * the address), and a body that sends that resolved address back means the same listen.
   */
  bound: Address | null;
}

/** A server replaced or taken out, still draining its connections (its figures still count). */
interface Draining {
  proxy: string;
  running: Running;
  done: Promise<void>;
}

/** See the module comment. */
export class Fleet implements ControlTarget {
  private readonly proxies = new Map<string, Managed>();
  private readonly draining = new Set<Draining>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly reloads = { success: 0, partial: 0, failure: 0 };
  private closed = false;
  // One sequence for every proxy and every server that replaces one: an id names one connection
  // in the access log, `/connections` and the API (draining servers' included) and the UNIQUE_ID.
  private readonly connectionIds = new ConnectionIds();

  constructor(private readonly options: FleetOptions) {}

  /** Starts the proxies of the config file; rejects (nothing left running) if one cannot listen. */
  start(specs: ProxySpec[]): Promise<void> {
    return this.serialized(async () => {
      try {
        for (const spec of specs) await this.add(spec, 'file');
      } catch (err) {
        await this.stopAll(0);
        throw err;
      }
    });
  }

  /** Stops every proxy: listeners closed, connections drained for up to `drainTimeoutMs`. */
  shutdown(drainTimeoutMs: number): Promise<void> {
    return this.serialized(async () => {
      this.closed = true;
      await this.stopAll(drainTimeoutMs);
    });
  }

  // Reading.

  list(): ProxyView[] {
    return [...this.proxies.values()].map((p) => this.view(p));
  }

  get(name: string): ProxyView {
    return this.view(this.managed(name));
  }

  /** Names of the proxies, for /healthz?proxy= and the like. */
  names(): string[] {
    return [...this.proxies.keys()];
  }

  toxics(proxy: string): ToxicView[] {
    // As toxiproxy lists them: the upstream chain, then the downstream one, each in the order added.
    const toxics = this.managed(proxy).spec.toxics.map((t) => ({ ...t }));
    return [...toxics.filter((t) => t.stream === 'upstream'), ...toxics.filter((t) => t.stream === 'downstream')];
  }

  toxic(proxy: string, name: string): ToxicView {
    const toxic = this.managed(proxy).spec.toxics.find((t) => t.name === name);
    if (!toxic) throw ApiError.toxicNotFound();
    return { ...toxic };
  }

  /** The proxy's open connections, oldest first: those a change or reload left draining (still its own) and its running server's. */
  connections(proxy: string, limit = 100): { total: number; connections: ConnectionView[] } {
    const p = this.managed(proxy);
    const servers = [...this.draining].filter((d) => d.proxy === proxy).map((d) => d.running.server);
    if (p.running) servers.push(p.running.server);
    let total = 0;
    const connections: ConnectionView[] = [];
    for (const server of servers) {
      const page = server.connectionViews(limit);
      total += page.total;
      connections.push(...page.connections);
    }
    // Ids come from one sequence, so they order the connections by arrival across servers.
    return { total, connections: connections.sort((a, b) => a.id - b.id).slice(0, limit) };
  }

  /** Every proxy's open connections for `/connections` and the live page, each named by its proxy (draining ones too), busiest first. */
  liveConnections(limit: number): ConnectionsPage {
    const pages: ConnectionsPage[] = [];
    for (const p of this.proxies.values()) if (p.running) pages.push(p.running.server.connections(limit, p.spec.name));
    for (const d of this.draining) pages.push(d.running.server.connections(limit, d.proxy));
    return mergePages(pages, limit);
  }

  // Changing (each through the queue).

  create(input: ProxyInput): Promise<ProxyView> {
    return this.serialized(async () => {
      const spec = this.parse(input, 'proxy');
      if (this.proxies.has(spec.name)) throw ApiError.proxyExists();
      return this.view(await this.add(spec, 'api'));
    });
  }

  populate(inputs: ProxyInput[]): Promise<ProxyView[]> {
    return this.serialized(async () => {
      if (!Array.isArray(inputs)) throw ApiError.badBody('expected an array of proxies');
      // Every entry is checked before any is touched: one bad entry creates nothing.
      const specs = inputs.map((input, i) => {
        try {
          return parseProxySpec(input, `#${i + 1}`);
        } catch (err) {
          if (err instanceof ProxyConfigError && err.detail === 'missing') throw ApiError.missingField(`${err.key} at proxy ${i + 1}`);
          if (err instanceof ProxyConfigError) throw err.toApiError();
          throw err;
        }
      });
      const out: ProxyView[] = [];
      for (const spec of specs) {
        const existing = this.proxies.get(spec.name);
        if (existing && existing.spec.listen === spec.listen && existing.spec.upstream === spec.upstream) {
          out.push(this.view(existing));
          continue;
        }
        if (existing) await this.remove_(existing, 0);
        try {
          out.push(this.view(await this.add(spec, 'api')));
        } catch (err) {
          // toxiproxy stops at the first proxy that cannot start and answers the ones made before it.
          const error = err instanceof ApiError ? err : new ApiError(500, (err as Error).message);
          throw new PopulateError(error.status, error.message, out);
        }
      }
      return out;
    });
  }

  update(name: string, input: ProxyInput): Promise<ProxyView> {
    return this.serialized(async () => {
      const p = this.managed(name);
      if (input && typeof input === 'object' && 'name' in input && input.name !== name) throw ApiError.badBody('name cannot be changed');
      const spec = this.parse({ ...input, name }, name, p.spec);
      await this.change(p, spec, 0);
      return this.view(p);
    });
  }

  remove(name: string): Promise<void> {
    return this.serialized(async () => {
      await this.remove_(this.managed(name), 0);
    });
  }

  reset(): Promise<void> {
    return this.serialized(async () => {
      for (const p of this.proxies.values()) {
        this.setToxics(p, []);
        if (!p.running) await this.change(p, { ...p.spec, enabled: true }, 0);
      }
    });
  }

  // Toxics go through the queue as well: one added while the proxy's server is being replaced or
  // started must reach the server that comes out of it, not the one going away (or none).

  addToxic(proxy: string, input: ToxicInput): Promise<ToxicView> {
    return this.serialized(async () => {
      const p = this.managed(proxy);
      const toxic = parseToxic(input);
      if (p.spec.toxics.some((t) => t.name === toxic.name)) throw ApiError.toxicExists();
      this.setToxics(p, [...p.spec.toxics, toxic]);
      return { ...toxic };
    });
  }

  updateToxic(proxy: string, name: string, input: ToxicInput): Promise<ToxicView> {
    return this.serialized(async () => {
      const p = this.managed(proxy);
      const i = p.spec.toxics.findIndex((t) => t.name === name);
      if (i === -1) throw ApiError.toxicNotFound();
      const toxic = updateToxic(p.spec.toxics[i]!, input);
      this.setToxics(p, p.spec.toxics.map((t, j) => (j === i ? toxic : t)));
      return { ...toxic };
    });
  }

  removeToxic(proxy: string, name: string): Promise<void> {
    return this.serialized(async () => {
      const p = this.managed(proxy);
      if (!p.spec.toxics.some((t) => t.name === name)) throw ApiError.toxicNotFound();
      this.setToxics(p, p.spec.toxics.filter((t) => t.name !== name));
    });
  }

  // The proxy's toxics, on its open connections too; one it cannot carry is a 400 and changes nothing.
  private setToxics(p: Managed, toxics: ToxicView[]): void {
    asApiError(() => checkToxicsFit(toxics, p.spec.options.messages !== undefined));
    p.spec = { ...p.spec, toxics };
    this.spreadToxics(p);
  }

  // The proxy's toxics on every live connection it has: its running server's, and those a settings
  // change left on a draining server, still this proxy's (a stall removed must let them go too).
  private spreadToxics(p: Managed): void {
    p.running?.server.setToxics(p.spec.toxics);
    for (const d of this.draining) if (d.proxy === p.spec.name) d.running.server.setToxics(toxicsThatFit(p.spec.toxics, d.running.server.messageMode));
  }

  closeConnection(proxy: string, id: number): void {
    const running = this.managed(proxy).running;
    if (running?.server.resetConnection(id)) return;
    // `/connections` lists the connections a reload left draining under the proxy's name too.
    for (const d of this.draining) if (d.proxy === proxy && d.running.server.resetConnection(id)) return;
    throw ApiError.connectionNotFound();
  }

  /**
   * Re-reads the config file: proxies it no longer names stop (draining), new ones start, changed
   * ones get their new settings for new connections, unchanged ones are not touched; proxies made
   * through the API stay unless the file names them. A file that does not parse or validate
   * changes nothing (ApiError 400 with the one-line reason).
   */
  reload(): Promise<ReloadResult> {
    return this.serialized(async () => {
      const file = this.options.configFile;
      if (file === undefined) throw new ApiError(400, 'no config file to reload (sluice serve was started without --config)');
      let specs: ProxySpec[];
      try {
        specs = await loadConfigFile(file);
      } catch (err) {
        this.reloads.failure++;
        if (err instanceof ConfigFileError) throw new ApiError(400, err.message);
        throw err;
      }
      const named = new Set(specs.map((s) => s.name));
      const taken = this.listenTaken(specs, named);
      if (taken) {
        this.reloads.failure++;
        throw new ApiError(400, `${file}: ${taken}`);
      }
      const result: ReloadResult = { added: [], removed: [], changed: [], unchanged: [], failed: [] };
      for (const p of [...this.proxies.values()]) {
        if (p.origin === 'file' && !named.has(p.spec.name)) {
          await this.remove_(p, this.options.drainTimeoutMs);
          result.removed.push(p.spec.name);
        }
      }
      // Those it disables first, as those it removes: an address they free may be another's now.
      for (const spec of [...specs.filter((s) => !s.enabled), ...specs.filter((s) => s.enabled)]) {
        const p = this.proxies.get(spec.name);
        try {
          if (!p) {
            await this.add(spec, 'file');
            result.added.push(spec.name);
          } else if (sameRelay(p.spec, spec) && p.spec.enabled === spec.enabled && JSON.stringify(p.spec.toxics) === JSON.stringify(spec.toxics)) {
            p.origin = 'file';
            result.unchanged.push(spec.name);
          } else {
            p.origin = 'file';
            await this.change(p, spec, this.options.drainTimeoutMs);
            result.changed.push(spec.name);
          }
        } catch (err) {
          // A proxy that cannot bind its new address keeps running as it was; the others go on.
          this.options.onNotice?.(`reload: proxy ${spec.name}: ${(err as Error).message}`);
          result.failed.push({ name: spec.name, error: (err as Error).message });
        }
      }
      if (result.failed.length > 0) this.reloads.partial++;
      else this.reloads.success++;
      return result;
    });
  }

  /**
   * The first proxy of a reloaded file that would bind an address another proxy keeps listening on
   * (one the file moves elsewhere too, or one made through the API), as a one-line reason; null when
   * none would. Found before anything is applied, so the file is refused whole instead of applied
   * in part. Proxies the reload removes or disables free their addresses first (see reload).
   */
  private listenTaken(specs: ProxySpec[], named: Set<string>): string | null {
    const next = new Map(specs.map((s) => [s.name, s]));
    const holders = [...this.proxies.values()].filter((p) => p.running && (p.origin === 'api' || named.has(p.spec.name)) && next.get(p.spec.name)?.enabled !== false);
    for (const spec of specs) {
      if (!spec.enabled) continue;
      const p = this.proxies.get(spec.name);
      if (p?.running && this.sameListen(p, spec)) continue; // keeps its own socket
      for (const holder of holders) {
        if (holder === p) continue;
        const at = [holder.running!.address, holder.spec.listenAddress];
        if (!at.some((a) => listensOverlap(a, spec.listenAddress))) continue;
        const moving = next.has(holder.spec.name) && !this.sameListen(holder, next.get(holder.spec.name)!);
        const why = moving ? ` until it moves; one reload cannot pass a listen address from one proxy to another (move proxy ${holder.spec.name} in a reload of its own first)` : '';
        return `proxy ${spec.name}: listen: ${spec.listen} is where proxy ${holder.spec.name} listens${why}`;
      }
    }
    return null;
  }

  // Signals.

  /** The whole process answers for its worst proxy; `proxy` names one (null: no such proxy; a disabled one is unavailable). */
  health(proxy?: string): HealthStatus | null {
    if (proxy !== undefined) {
      const p = this.proxies.get(proxy);
      if (!p) return null;
      return p.running ? p.running.server.health() : { ok: false, reason: 'disabled', detail: `proxy ${proxy} accepts no connections` };
    }
    let worst: RelayServer | null = null;
    for (const r of this.runningServers()) if (!worst || r.server.governor.pressure > worst.governor.pressure) worst = r.server;
    return worst ? worst.health() : { ok: true };
  }

  /** The agent-check reply of the worst proxy (or full weight with none). */
  agentReply(): string {
    let worst: RelayServer | null = null;
    for (const r of this.runningServers()) if (!worst || r.server.governor.pressure > worst.governor.pressure) worst = r.server;
    return worst ? worst.agentReply() : 'up ready 100%\n';
  }

  /** Every proxy's families with a `proxy` label (draining servers included), and the fleet's own. */
  registerMetrics(registry: MetricsRegistry): void {
    registry.registerMerged(() => {
      const out: FamilySnapshot[][] = [];
      for (const p of this.proxies.values()) if (p.running) out.push(labelled(p.running.registry.snapshot(), p.spec.name));
      for (const d of this.draining) out.push(labelled(d.running.registry.snapshot(), d.proxy));
      return out;
    });
    registry.counter('sluice_config_reloads_total', 'Config file reloads (SIGHUP, POST /reload), by result: success, partial (some proxies kept their old form), failure (nothing changed).', () => [
      { labels: { result: 'success' }, value: this.reloads.success },
      { labels: { result: 'partial' }, value: this.reloads.partial },
      { labels: { result: 'failure' }, value: this.reloads.failure },
    ]);
    registry.gauge('sluice_proxies', 'Proxies configured, by state.', () => {
      let enabled = 0;
      for (const p of this.proxies.values()) if (p.running) enabled++;
      return [
        { labels: { state: 'enabled' }, value: enabled },
        { labels: { state: 'disabled' }, value: this.proxies.size - enabled },
      ];
    });
  }

  // The machinery.

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  private managed(name: string): Managed {
    const p = this.proxies.get(name);
    if (!p) throw ApiError.proxyNotFound();
    return p;
  }

  private parse(input: ProxyInput, label: string, base?: ProxySpec): ProxySpec {
    try {
      return parseProxySpec(input, label, base);
    } catch (err) {
      if (err instanceof ProxyConfigError) throw err.toApiError();
      throw err;
    }
  }

  private async add(spec: ProxySpec, origin: Origin): Promise<Managed> {
    if (this.closed) throw new ApiError(503, 'shutting down');
    const p: Managed = { spec, origin, running: null, bound: null };
    if (spec.enabled) p.running = await this.launch(p, spec);
    this.proxies.set(spec.name, p);
    return p;
  }

  // Drops at once (API) or drains in the background (reload): a reload never waits on a drain.
  private async remove_(p: Managed, drainMs: number): Promise<void> {
    this.proxies.delete(p.spec.name);
    const done = this.retire(p, drainMs);
    if (drainMs === 0) await done;
  }

  /**
   * Brings a proxy to `spec`. `drainMs` is how long connections may finish when the proxy is
   * disabled or moved to another listen or upstream: 0 for the API (toxiproxy drops them), the
   * drain timeout for a reload. A change of settings alone always lets them finish.
   */
  private async change(p: Managed, requested: ProxySpec, drainMs: number): Promise<void> {
    const before = p.spec;
    const sameListen = this.sameListen(p, requested);
    const spec = sameListen ? { ...requested, listen: before.listen, listenAddress: before.listenAddress } : requested;
    const boundBefore = p.bound;
    if (!sameListen) p.bound = null;
    p.spec = spec;
    const undo = (err: unknown): never => {
      p.spec = before;
      p.bound = boundBefore;
      throw err;
    };
    if (!spec.enabled) {
      const done = this.retire(p, drainMs);
      if (drainMs === 0) await done;
      return;
    }
    if (!p.running) {
      p.running = await this.launch(p, spec).catch(undo);
      return;
    }
    if (sameRelay(before, spec)) return this.spreadToxics(p);
    const old = p.running;
    if (sameListen) {
      // Same port: the successor takes the listening socket over, so no client is ever refused. What
      // can fail is tried before the socket changes hands; should the successor still fail, the old
      // server takes it back and runs on as it was.
      await checkSpillDir(spec).catch(undo);
      const listener = old.server.handOverListener();
      p.running = await this.launch(p, spec, listener).catch((err: unknown) => {
        old.server.takeBackListener();
        return undo(err);
      });
    } else {
      p.running = await this.launch(p, spec).catch(undo);
    }
    const movedOn = !sameListen || before.upstream !== spec.upstream;
    void this.drainAway(p.spec.name, old, movedOn ? drainMs : this.options.drainTimeoutMs);
    this.spreadToxics(p); // a reload may change settings and toxics at once
  }

  // The address it is bound to, sent back (a client's "change upstream"), is the same listen.
  private sameListen(p: Managed, requested: ProxySpec): boolean {
    return requested.listen === p.spec.listen || (p.bound !== null && formatAddress(requested.listenAddress) === formatAddress(p.bound));
  }

  private retire(p: Managed, drainMs: number): Promise<void> {
    const old = p.running;
    p.running = null;
    return old ? this.drainAway(p.spec.name, old, drainMs) : Promise.resolve();
  }

  private drainAway(proxy: string, running: Running, drainMs: number): Promise<void> {
    const d: Draining = { proxy, running, done: running.server.shutdown(drainMs).finally(() => this.draining.delete(d)) };
    this.draining.add(d);
    return d.done;
  }

  private async launch(p: Managed, spec: ProxySpec, listener?: import('node:net').Server): Promise<Running> {
    const name = spec.name;
    // Asked for any port and bound before: the same port again.
    const again = p.bound !== null && spec.listenAddress.kind === 'tcp' && spec.listenAddress.port === 0 ? p.bound : null;
    const server = new RelayServer({
      ...spec.options,
      ...(again ? { listen: again } : {}),
      ...(listener ? { listener } : {}),
      toxics: spec.toxics,
      proxyName: name,
      connectionIds: this.connectionIds,
      onAccessLog: this.options.onAccessLog,
      onNotice: (text) => this.options.onNotice?.(`proxy ${name}: ${text}`),
    });
    let address: Address;
    try {
      address = await server.listen();
    } catch (err) {
      // A listener handed over is not this server's to close: it goes back to its owner.
      if (listener) server.handOverListener();
      await server.shutdown(0).catch(() => {});
      if (spec.options.overflow === 'spill') {
        const { SpillDirError } = await import('../spill/index.js'); // loaded only by a proxy that spills
        if (err instanceof SpillDirError) throw spillDirError(err);
      }
      throw bindError(spec.listenAddress, err as NodeJS.ErrnoException);
    }
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    p.bound = address;
    return { server, registry, address };
  }

  // Everything stops: running proxies drain for up to `drainMs`, and so do those already draining.
  private async stopAll(drainMs: number): Promise<void> {
    const all = [...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(all.map((p) => this.retire(p, drainMs)));
    await Promise.all([...this.draining].map((d) => d.running.server.shutdown(drainMs).then(() => d.done)));
  }

  private *runningServers(): IterableIterator<Running> {
    for (const p of this.proxies.values()) if (p.running) yield p.running;
  }

  private view(p: Managed): ProxyView {
    return {
      name: p.spec.name,
      listen: p.running ? formatAddress(p.running.address) : p.bound ? formatAddress(p.bound) : p.spec.listen,
      upstream: p.spec.upstream,
      enabled: p.running !== null,
      toxics: this.toxics(p.spec.name),
      settings: effectiveSettings(p.spec),
    };
  }
}

/** A family snapshot with `proxy` added to every sample's labels. */
function labelled(families: FamilySnapshot[], proxy: string): FamilySnapshot[] {
  return families.map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: { proxy, ...s.labels } })) }));
}

/**
 * Proves the spill directory of a proxy that spills usable, as its server's listen() would (which
 * keeps the store it opens; this one is let go at once). Throws the ApiError of spillDirError.
 */
async function checkSpillDir(spec: ProxySpec): Promise<void> {
  if (spec.options.overflow !== 'spill') return;
  const { SpillStore, SpillDirError } = await import('../spill/index.js'); // loaded only by a proxy that spills
  const store = await SpillStore.open({ dir: spec.options.spillDir ?? RELAY_DEFAULTS.spillDir, maxBytes: spec.options.spillMaxBytes ?? RELAY_DEFAULTS.spillMaxBytes }).catch((err: unknown) => {
    throw err instanceof SpillDirError ? spillDirError(err) : err;
  });
  await store.close();
}

/** An unusable spill directory is a bad setting (400) named by its key, not a failure to listen. */
function spillDirError(err: SpillDirError): ApiError {
  return new ApiError(400, `spill-dir: ${err.dir} is not a writable directory (${err.reason})`);
}

/** toxiproxy passes Go's bind error through (clients show it): `listen tcp HOST:PORT: bind: address already in use`. */
function bindError(address: Address, err: NodeJS.ErrnoException): ApiError {
  const where = formatAddress(address);
  if (err.code === 'EADDRINUSE') return new ApiError(500, `listen tcp ${where}: bind: address already in use`);
  if (err.code === 'EADDRNOTAVAIL') return new ApiError(500, `listen tcp ${where}: bind: cannot assign requested address`);
  if (err.code === 'EACCES') return new ApiError(500, `listen tcp ${where}: bind: permission denied`);
  return new ApiError(500, `listen tcp ${where}: ${err.message}`);
}
