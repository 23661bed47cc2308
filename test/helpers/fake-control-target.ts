import {
  ApiError,
  PopulateError,
  type ConnectionView,
  type ControlTarget,
  type ProxyInput,
  type ProxyView,
  type ReloadResult,
  type ToxicInput,
  type ToxicView,
} from '../../proxy/serve/control.js';

/**
 * An in-memory ControlTarget with toxiproxy's semantics (proxy_collection.go, proxy.go,
 * toxic_collection.go), so the HTTP layer can be tested alone: nothing listens; "binding" hands
 * out ports from a counter, and an address in `taken` fails as a real bind would.
 */

/** Each toxic type's attributes with toxiproxy's zero values, in its struct order. */
const TOXIC_DEFAULTS: Record<string, Record<string, unknown>> = {
  noop: {},
  latency: { latency: 0, jitter: 0 },
  bandwidth: { rate: 0 },
  slow_close: { delay: 0 },
  timeout: { timeout: 0 },
  reset_peer: { timeout: 0 },
  slicer: { average_size: 0, size_variation: 0, delay: 0 },
  limit_data: { bytes: 0 },
};

/** The sluice settings the fake accepts on a proxy (a handful; the real fleet knows them all). */
const SETTINGS = ['window', 'max-conns', 'overflow', 'rate', 'messages'];

interface FakeProxy {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicView[];
  settings: Record<string, string | number | boolean>;
  connections: ConnectionView[];
}

/** Every call made to the fake, in order (method name and proxy). */
export type FakeCall = [method: string, ...args: unknown[]];

/** An in-memory fleet with toxiproxy's rules; see the module comment. */
export class FakeControlTarget implements ControlTarget {
  private readonly proxies = new Map<string, FakeProxy>();
  private nextPort = 20_000;
  /** Listen addresses whose bind fails with EADDRINUSE. */
  readonly taken = new Set<string>();
  readonly calls: FakeCall[] = [];
  /** What reload() answers, or throws when it is an ApiError. */
  reloadOutcome: ReloadResult | ApiError = { added: [], removed: [], changed: [], unchanged: [], failed: [] };
  /** When set, the next asynchronous call waits for this before going on. */
  hold: Promise<void> | null = null;

  list(): ProxyView[] {
    return [...this.proxies.values()].map(view);
  }

  get(name: string): ProxyView {
    return view(this.find(name));
  }

  async create(input: ProxyInput): Promise<ProxyView> {
    this.calls.push(['create', input]);
    await this.wait();
    const proxy = this.fromInput(input, '');
    if (this.proxies.has(proxy.name)) throw ApiError.proxyExists();
    if (proxy.enabled) this.bind(proxy);
    this.proxies.set(proxy.name, proxy);
    return view(proxy);
  }

  async populate(inputs: ProxyInput[]): Promise<ProxyView[]> {
    this.calls.push(['populate', inputs]);
    await this.wait();
    // Checked before any is made, as PopulateJson does.
    const proxies = inputs.map((input, i) => this.fromInput(input, ` at proxy ${i + 1}`));
    const made: ProxyView[] = [];
    for (const proxy of proxies) {
      const existing = this.proxies.get(proxy.name);
      if (existing && resolveListen(proxy.listen) === existing.listen && proxy.upstream === existing.upstream) {
        made.push(view(existing));
        continue;
      }
      if (existing) this.proxies.delete(proxy.name);
      try {
        if (proxy.enabled) this.bind(proxy);
      } catch (err) {
        const error = err as ApiError;
        throw new PopulateError(error.status, error.message, made);
      }
      this.proxies.set(proxy.name, proxy);
      made.push(view(proxy));
    }
    return made;
  }

  async update(name: string, input: ProxyInput): Promise<ProxyView> {
    this.calls.push(['update', name, input]);
    await this.wait();
    const proxy = this.find(name);
    const listen = optionalString(input, 'listen', '') ?? proxy.listen;
    const upstream = optionalString(input, 'upstream', '') ?? proxy.upstream;
    const enabled = optionalBoolean(input, 'enabled', '') ?? proxy.enabled;
    Object.assign(proxy.settings, settingsOf(input));
    if (resolveListen(listen) !== proxy.listen || upstream !== proxy.upstream) {
      proxy.enabled = false;
      proxy.listen = listen;
      proxy.upstream = upstream;
      if (enabled) this.bind(proxy);
      proxy.enabled = enabled;
      return view(proxy);
    }
    if (enabled && !proxy.enabled) this.bind(proxy);
    if (!enabled && proxy.enabled) proxy.connections = [];
    proxy.enabled = enabled;
    return view(proxy);
  }

  async remove(name: string): Promise<void> {
    this.calls.push(['remove', name]);
    await this.wait();
    this.find(name);
    this.proxies.delete(name);
  }

  async reset(): Promise<void> {
    this.calls.push(['reset']);
    await this.wait();
    for (const proxy of this.proxies.values()) {
      if (!proxy.enabled) this.bind(proxy);
      proxy.enabled = true;
      proxy.toxics = [];
    }
  }

  toxics(proxy: string): ToxicView[] {
    return this.find(proxy).toxics.map((t) => ({ ...t }));
  }

  toxic(proxy: string, name: string): ToxicView {
    return { ...this.findToxic(this.find(proxy), name) };
  }

  async addToxic(proxyName: string, input: ToxicInput): Promise<ToxicView> {
    this.calls.push(['addToxic', proxyName, input]);
    const proxy = this.find(proxyName);
    const type = optionalString(input, 'type', '') ?? '';
    const stream = optionalString(input, 'stream', '') ?? 'downstream';
    if (stream.toLowerCase() !== 'upstream' && stream.toLowerCase() !== 'downstream') throw ApiError.invalidStream();
    const name = optionalString(input, 'name', '') || `${type}_${stream}`;
    const defaults = TOXIC_DEFAULTS[type];
    if (defaults === undefined) throw ApiError.invalidToxicType();
    if (proxy.toxics.some((t) => t.name === name)) throw ApiError.toxicExists();
    const toxic: ToxicView = {
      name,
      type,
      stream: stream.toLowerCase() as ToxicView['stream'],
      toxicity: optionalNumber(input, 'toxicity') ?? 1,
      attributes: { ...defaults, ...attributesOf(input) } as Record<string, number>,
    };
    // toxiproxy lists the upstream chain, then the downstream one.
    proxy.toxics.push(toxic);
    proxy.toxics.sort((a, b) => (a.stream === b.stream ? 0 : a.stream === 'upstream' ? -1 : 1));
    return { ...toxic };
  }

  async updateToxic(proxyName: string, name: string, input: ToxicInput): Promise<ToxicView> {
    this.calls.push(['updateToxic', proxyName, name, input]);
    const toxic = this.findToxic(this.find(proxyName), name);
    toxic.attributes = { ...toxic.attributes, ...attributesOf(input) } as Record<string, number>;
    toxic.toxicity = optionalNumber(input, 'toxicity') ?? toxic.toxicity;
    return { ...toxic };
  }

  async removeToxic(proxyName: string, name: string): Promise<void> {
    this.calls.push(['removeToxic', proxyName, name]);
    const proxy = this.find(proxyName);
    this.findToxic(proxy, name);
    proxy.toxics = proxy.toxics.filter((t) => t.name !== name);
  }

  connections(proxy: string, limit?: number): { total: number; connections: ConnectionView[] } {
    this.calls.push(['connections', proxy, limit]);
    const all = this.find(proxy).connections;
    return { total: all.length, connections: all.slice(0, limit ?? 100) };
  }

  closeConnection(proxyName: string, id: number): void {
    this.calls.push(['closeConnection', proxyName, id]);
    const proxy = this.find(proxyName);
    if (!proxy.connections.some((c) => c.id === id)) throw ApiError.connectionNotFound();
    proxy.connections = proxy.connections.filter((c) => c.id !== id);
  }

  async reload(): Promise<ReloadResult> {
    this.calls.push(['reload']);
    await this.wait();
    if (this.reloadOutcome instanceof ApiError) throw this.reloadOutcome;
    return this.reloadOutcome;
  }

  /** Gives a proxy open connections, for the connection endpoints. */
  openConnections(name: string, connections: ConnectionView[]): void {
    this.find(name).connections = connections;
  }

  private async wait(): Promise<void> {
    if (this.hold) await this.hold;
  }

  private find(name: string): FakeProxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw ApiError.proxyNotFound();
    return proxy;
  }

  private findToxic(proxy: FakeProxy, name: string): ToxicView {
    const toxic = proxy.toxics.find((t) => t.name === name);
    if (!toxic) throw ApiError.toxicNotFound();
    return toxic;
  }

  private fromInput(input: ProxyInput, where: string): FakeProxy {
    const name = optionalString(input, 'name', where) ?? '';
    const upstream = optionalString(input, 'upstream', where) ?? '';
    if (name === '') throw ApiError.missingField(`name${where}`);
    if (upstream === '') throw ApiError.missingField(`upstream${where}`);
    return {
      name,
      listen: optionalString(input, 'listen', where) ?? '',
      upstream,
      enabled: optionalBoolean(input, 'enabled', where) ?? true,
      toxics: [],
      settings: { window: '64KiB', 'max-conns': 0, overflow: 'block', ...settingsOf(input) },
      connections: [],
    };
  }

  /** "Listens": the address as resolved, or toxiproxy's bind error (500). */
  private bind(proxy: FakeProxy): void {
    const resolved = resolveListen(proxy.listen);
    if (this.taken.has(resolved)) throw new ApiError(500, `listen tcp ${resolved}: bind: address already in use`);
    proxy.listen = resolved.endsWith(':0') ? `${resolved.slice(0, -2)}:${this.nextPort++}` : resolved;
  }
}

function view(proxy: FakeProxy): ProxyView {
  const { name, listen, upstream, enabled, settings } = proxy;
  return { name, listen, upstream, enabled, toxics: proxy.toxics.map((t) => ({ ...t })), settings: { ...settings } };
}

/** `localhost:P` -> `127.0.0.1:P`, as Go's net.ResolveTCPAddr (and the real listener) would show it. */
function resolveListen(listen: string): string {
  if (listen === '') return '127.0.0.1:0';
  return listen.replace(/^localhost:/, '127.0.0.1:');
}

function optionalString(input: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw ApiError.badBody(`${key}${where} must be a string`);
  return value;
}

function optionalBoolean(input: Record<string, unknown>, key: string, where: string): boolean | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw ApiError.badBody(`${key}${where} must be true or false`);
  return value;
}

function optionalNumber(input: Record<string, unknown>, key: string): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw ApiError.badBody(`${key} must be a number`);
  return value;
}

function attributesOf(input: Record<string, unknown>): Record<string, unknown> {
  const attributes = input.attributes;
  if (attributes === undefined || attributes === null) return {};
  if (typeof attributes !== 'object' || Array.isArray(attributes)) throw ApiError.badBody('attributes must be an object');
  return attributes as Record<string, unknown>;
}

function settingsOf(input: Record<string, unknown>): Record<string, string | number | boolean> {
  const settings: Record<string, string | number | boolean> = {};
  for (const key of SETTINGS) {
    const value = input[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') settings[key] = value;
  }
  return settings;
}
