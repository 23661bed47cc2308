import { readFile } from 'node:fs/promises';
import { parseProxySpec, ProxyConfigError, type ProxySpec } from './proxy-config.js';

/** Largest config file read: a fleet of proxies fits in far less; a mistake (a log file) is refused early. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** A config file that cannot be used: one line naming the file, and the proxy and key when there is one. */
export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/**
 * `sluice serve --config FILE`: `{"proxies": [...]}`, or toxiproxy's own config (a bare array of
 * proxies), each entry as parseProxySpec reads it. Names must be unique. Throws ConfigFileError.
 */
export async function loadConfigFile(path: string): Promise<ProxySpec[]> {
  let text: string;
  try {
    const buffer = await readFile(path);
    if (buffer.length > MAX_CONFIG_BYTES) throw new ConfigFileError(`${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    text = buffer.toString('utf8');
  } catch (err) {
    if (err instanceof ConfigFileError) throw err;
    throw new ConfigFileError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError(`${path}: not JSON (${(err as Error).message})`);
  }
  try {
    return parseConfig(json);
  } catch (err) {
    if (err instanceof ConfigFileError || err instanceof ProxyConfigError) throw new ConfigFileError(`${path}: ${err.message}`);
    throw err;
  }
}

/** The proxies of a parsed config document; throws ProxyConfigError or ConfigFileError. */
export function parseConfig(json: unknown): ProxySpec[] {
  const entries = Array.isArray(json) ? json : (json as { proxies?: unknown } | null)?.proxies;
  if (!Array.isArray(entries)) throw new ConfigFileError('expected {"proxies": [...]} or an array of proxies');
  const specs: ProxySpec[] = [];
  const names = new Set<string>();
  entries.forEach((entry: unknown, i: number) => {
    const spec = parseProxySpec(entry as Record<string, unknown>, `#${i + 1}`);
    if (names.has(spec.name)) throw new ProxyConfigError(spec.name, 'name', 'named twice');
    names.add(spec.name);
    specs.push(spec);
  });
  return specs;
}
