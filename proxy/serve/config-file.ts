import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Address } from '../net/address.js';
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
 * proxies), each entry as parseProxySpec reads it. Names must be unique, and so must listen
 * addresses. Only a regular file of at most MAX_CONFIG_BYTES is read. Throws ConfigFileError.
 */
export async function loadConfigFile(path: string): Promise<ProxySpec[]> {
  const text = await readConfigText(path);
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

// A read that never ends would hold the fleet's queue (reload) and SIGTERM behind it, and a huge one
// the heap. So: opened without blocking (a FIFO's open waits for a writer, holding a libuv thread),
// refused unless the handle is a regular file within the cap, then read to one byte past the cap at
// most (a file may grow after the look). The look is on the handle, so a swap cannot slip between.
async function readConfigText(path: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const stats = await handle.stat().catch((err: unknown) => {
      throw cannotRead(path, err);
    });
    if (!stats.isFile()) throw new ConfigFileError(`${path}: not a regular file (${fileKind(stats)})`);
    if (stats.size > MAX_CONFIG_BYTES) throw tooLarge(path);
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null).catch((err: unknown) => {
        throw cannotRead(path, err);
      });
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_CONFIG_BYTES) throw tooLarge(path);
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close().catch(() => {});
  }
}

function cannotRead(path: string, err: unknown): ConfigFileError {
  return new ConfigFileError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
}

function tooLarge(path: string): ConfigFileError {
  return new ConfigFileError(`${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
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
    // Found here, the whole file is refused; found by bind, one proxy of it would be left out.
    const other = specs.find((s) => listensOverlap(s.listenAddress, spec.listenAddress));
    if (other) throw new ProxyConfigError(spec.name, 'listen', `${spec.listen} is where proxy ${other.name} listens${other.listen === spec.listen ? '' : ` (${other.listen})`}`);
    names.add(spec.name);
    specs.push(spec);
  });
  return specs;
}

/**
 * True when two listen addresses would take the same socket: the same unix path, or one TCP port
 * (not 0: any free port) on hosts that are the same literally (localhost as loopback, IPv6 in any
 * spelling) or where one is a wildcard. No DNS: a name that resolves elsewhere is not seen.
 */
export function listensOverlap(a: Address, b: Address): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') return a.kind === 'unix' && b.kind === 'unix' && resolve(a.path) === resolve(b.path);
  if (a.port === 0 || a.port !== b.port) return false;
  const x = literalHost(a.host);
  const y = literalHost(b.host);
  if (x === y || WILDCARDS.has(x) || WILDCARDS.has(y)) return true;
  // localhost is one of the two loopbacks, whichever the resolver gives first.
  return (x === 'localhost' && LOOPBACKS.has(y)) || (y === 'localhost' && LOOPBACKS.has(x));
}

// Listening on any address of a family takes the port on all of them (`::` takes IPv4's too, as Node listens dual-stack).
const WILDCARDS = new Set(['0.0.0.0', '::']);
const LOOPBACKS = new Set(['127.0.0.1', '::1']);

function literalHost(host: string): string {
  const h = host.toLowerCase();
  if (isIP(h) !== 6) return h;
  const normal = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  // An IPv4-mapped IPv6 address is that IPv4 address.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(normal);
  if (!mapped) return normal;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
