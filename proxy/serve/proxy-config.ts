import { formatAddress, parseAddress, type Address } from '../net/address.js';
import { parseOptions, UsageError, type OptionSpec } from '../options/parse.js';
import { checkRelayOptions, RELAY_OPTIONS, relayServerOptions } from '../options/relay.js';
import type { RelayServerOptions } from '../relay/relay-server.js';
import { ApiError, type ProxyInput, type ToxicView } from './control.js';
import { parseToxic } from './toxic-config.js';
import { checkToxicsFit } from '../relay/connection-toxics.js';
import { ToxicSpecError } from '../stages/toxics/index.js';

/**
 * One proxy of `sluice serve`, as a config file entry or an API body gives it: toxiproxy's fields
 * (`name`, `listen`, `upstream`, `enabled`, `toxics`) and any per-connection option of `sluice
 * relay` under its flag name without the dashes (`"window": "64KiB"`, `"max-conns": 100`), parsed
 * by the very parser the flags go through, with the same defaults and the same errors.
 */
export interface ProxySpec {
  name: string;
  /** As given (`localhost:3310`, `127.0.0.1:0`). */
  listen: string;
  listenAddress: Address;
  /** As given; `--target` of `sluice relay`. */
  upstream: string;
  upstreamAddress: Address;
  enabled: boolean;
  /** The settings as given, by flag name (only those given). */
  settings: Record<string, string | number | boolean>;
  toxics: ToxicView[];
  /** What a RelayServer for this proxy is built with (no listener, log or notice hooks yet). */
  options: RelayServerOptions;
}

/** Toxiproxy's own fields; every other key must be a relay setting. */
const BASE_KEYS = new Set(['name', 'listen', 'upstream', 'enabled', 'toxics', 'settings']);

/** Flags of `sluice relay` that are not a proxy's to set: its addresses, and the process's own. */
const NOT_PER_PROXY = new Set(['listen', 'target', 'workers', 'metrics', 'agent', 'log', 'quiet', 'drain-timeout']);

/** The relay settings a proxy takes, by flag name. */
export const PROXY_SETTINGS: ReadonlyMap<string, OptionSpec> = new Map(RELAY_OPTIONS.filter((s) => !NOT_PER_PROXY.has(s.name)).map((s) => [s.name, s]));

/** Listen address of a proxy that names none: loopback, any free port. */
const DEFAULT_LISTEN = '127.0.0.1:0';

/** A bad entry: says which proxy and which key, as one line. */
export class ProxyConfigError extends Error {
  constructor(
    readonly proxy: string,
    readonly key: string,
    readonly detail: string,
  ) {
    super(`proxy ${proxy}: ${key}: ${detail}`);
    this.name = 'ProxyConfigError';
  }

  /** The same for the API: toxiproxy's 400 wording for a missing field, else a bad body. */
  toApiError(): ApiError {
    if (this.detail === 'missing') return ApiError.missingField(this.key);
    return ApiError.badBody(`${this.key}: ${this.detail}`);
  }
}

/**
 * Parses one entry; `label` names it in errors when it has no usable name (`#2`). Throws
 * ProxyConfigError. `base` fills what the entry leaves out (an update keeps the rest).
 */
export function parseProxySpec(input: ProxyInput, label: string, base?: ProxySpec): ProxySpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ProxyConfigError(label, 'proxy', 'must be a JSON object');
  const name = input.name ?? base?.name;
  if (typeof name !== 'string' || name === '') throw new ProxyConfigError(label, 'name', name === undefined || name === '' ? 'missing' : 'must be a string');
  const fail = (key: string, detail: string): never => {
    throw new ProxyConfigError(name, key, detail);
  };
  // ':' because Testcontainers names its proxies HOST:PORT (rabbitmq:5672). No space, '/', '%' or
  // quote: the name is a URL path segment, a metric label and a word of the access log.
  if (!/^[A-Za-z0-9_.:@+~-]{1,128}$/.test(name)) fail('name', 'letters, digits, _ . : @ + ~ - only (it is a URL path segment and a metric label)');

  const listen = text(input.listen, 'listen', fail) ?? base?.listen ?? DEFAULT_LISTEN;
  const upstream = text(input.upstream, 'upstream', fail) ?? base?.upstream;
  if (upstream === undefined || upstream === '') fail('upstream', 'missing');
  const enabled = input.enabled === undefined ? (base?.enabled ?? true) : input.enabled;
  if (typeof enabled !== 'boolean') fail('enabled', 'must be true or false');
  const listenAddress = address(listen, 'listen', fail);
  const upstreamAddress = address(upstream!, 'upstream', fail);

  const settings: Record<string, string | number | boolean> = { ...base?.settings };
  // `settings` as GET shows it is taken too, so a client can send back the object it read (as
  // toxiproxy's clients do); a key given at the top level as well wins.
  const nested = input.settings;
  if (nested !== undefined && (nested === null || typeof nested !== 'object' || Array.isArray(nested))) fail('settings', 'must be an object of settings');
  for (const [key, value] of [...Object.entries((nested ?? {}) as Record<string, unknown>), ...Object.entries(input)]) {
    if (BASE_KEYS.has(key)) continue;
    if (!PROXY_SETTINGS.has(key)) fail(key, `not a setting of a proxy (known: ${[...PROXY_SETTINGS.keys()].join(', ')})`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') fail(key, 'must be a string, a number or true/false');
    settings[key] = value as string | number | boolean;
  }

  const argv = ['--listen', formatAddress(listenAddress), '--target', formatAddress(upstreamAddress)];
  for (const [key, value] of Object.entries(settings)) {
    const spec = PROXY_SETTINGS.get(key)!;
    if (spec.kind === 'flag') {
      if (typeof value !== 'boolean') fail(key, 'must be true or false');
      if (value) argv.push(`--${key}`);
    } else {
      if (typeof value === 'boolean') fail(key, 'must be a value, not true/false');
      argv.push(`--${key}=${String(value)}`);
    }
  }
  let options: RelayServerOptions;
  try {
    const parsed = parseOptions(argv, RELAY_OPTIONS);
    checkRelayOptions(parsed);
    options = relayServerOptions(parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // "--window: expected ..." names the flag; the file and the API name the key.
    const m = /^--([a-z-]+)[: ]\s*(.*)$/.exec(err.message);
    return fail(m ? m[1]! : 'settings', m ? m[2]! : err.message);
  }

  let toxics = base?.toxics ?? [];
  if (input.toxics !== undefined) {
    if (!Array.isArray(input.toxics)) fail('toxics', 'must be an array');
    toxics = [];
    for (const [i, t] of (input.toxics as unknown[]).entries()) {
      try {
        const toxic = parseToxic(t as Record<string, unknown>);
        if (toxics.some((x) => x.name === toxic.name)) throw ApiError.toxicExists();
        toxics.push(toxic);
      } catch (err) {
        if (err instanceof ApiError) fail(`toxics[${i}]`, err.message);
        throw err;
      }
    }
  }
  try {
    checkToxicsFit(toxics, options.messages !== undefined);
  } catch (err) {
    if (err instanceof ToxicSpecError) fail('toxics', err.message);
    throw err;
  }
  return { name, listen, listenAddress, upstream: upstream!, upstreamAddress, enabled: enabled as boolean, settings, toxics, options };
}

/** The settings a proxy runs with, by flag name: those given, else the defaults (what `GET` shows). */
export function effectiveSettings(spec: ProxySpec): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, option] of PROXY_SETTINGS) {
    const given = spec.settings[key];
    if (given !== undefined) out[key] = given;
    else if (option.default !== undefined) out[key] = option.default;
    else if (option.kind === 'flag') out[key] = false;
  }
  return out;
}

/** True when two specs run the same relay (same addresses and settings): nothing to restart. */
export function sameRelay(a: ProxySpec, b: ProxySpec): boolean {
  return a.listen === b.listen && a.upstream === b.upstream && JSON.stringify(sorted(a.settings)) === JSON.stringify(sorted(b.settings));
}

function sorted(o: Record<string, unknown>): [string, unknown][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}

function text(value: unknown, key: string, fail: (key: string, detail: string) => never): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return fail(key, 'must be a string like HOST:PORT');
  return value;
}

function address(value: string, key: string, fail: (key: string, detail: string) => never): Address {
  try {
    return parseAddress(value);
  } catch (err) {
    return fail(key, (err as Error).message);
  }
}
