import { parseAddress, type Address } from '../net/address.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../config/units.js';

/** A command-line mistake: reported as one line naming the flag, exit code 2. */
export class UsageError extends Error {
  readonly code = 'SLUICE_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** How a flag's value is read. */
export type OptionKind = 'size' | 'duration' | 'count' | 'number' | 'address' | 'choice' | 'string' | 'flag';

/** One flag of a command: its name (without dashes), kind, default, help line and example. */
export interface OptionSpec {
  name: string;
  kind: OptionKind;
  help: string;
  /** Text shown as the default in --help; the parsed default comes from `default`. */
  default?: string;
  choices?: readonly string[];
  required?: boolean;
  /** Word shown for the value in --help (default from the kind: SIZE, DUR, N, ...). */
  placeholder?: string;
  /** Bounds for count/number/size/duration values. */
  min?: number;
  max?: number;
  /** May be given more than once: the values are collected, in order, as a list of strings. */
  repeatable?: boolean;
}

/** Parsed flag values by name: numbers for size/duration/count, Address, string, boolean; lists for repeatable flags. */
export type ParsedOptions = Record<string, number | string | boolean | Address | string[] | undefined>;

/**
 * Parses `--name value` and `--name=value` against the specs, applying defaults. Throws
 * UsageError for an unknown flag, a missing or malformed value, or a missing required flag.
 */
export function parseOptions(args: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (flags start with --)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.kind === 'flag') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value (${describeKind(spec)})`);
      i++;
    }
    const parsed = parseValue(spec, value);
    if (spec.repeatable) ((out[name] as string[] | undefined) ?? (out[name] = [])).push(String(parsed));
    else out[name] = parsed;
  }
  for (const spec of specs) {
    if (out[spec.name] !== undefined) continue;
    if (spec.required) throw new UsageError(`--${spec.name} is required (${describeKind(spec)})`);
    if (spec.default !== undefined) out[spec.name] = parseValue(spec, spec.default);
    else if (spec.kind === 'flag') out[spec.name] = false;
  }
  return out;
}

function parseValue(spec: OptionSpec, text: string): number | string | Address {
  const flag = `--${spec.name}`;
  const wrap = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      throw new UsageError(`${flag}: ${(err as Error).message}`);
    }
  };
  switch (spec.kind) {
    case 'size':
      return bounded(spec, wrap(() => parseSize(text)), text);
    case 'duration':
      return bounded(spec, wrap(() => parseDuration(text)), text);
    case 'count': {
      if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: expected a whole number, got "${text}"`);
      return bounded(spec, Number(text), text);
    }
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag}: expected a number, got "${text}"`);
      return bounded(spec, n, text);
    }
    case 'address':
      return wrap(() => parseAddress(text));
    case 'choice':
      if (!spec.choices?.includes(text)) throw new UsageError(`${flag}: expected one of ${spec.choices?.join('|')}, got "${text}"`);
      return text;
    case 'string':
      if (text === '') throw new UsageError(`${flag}: must not be empty`);
      return text;
    case 'flag':
      throw new UsageError(`${flag} takes no value`);
  }
}

function bounded(spec: OptionSpec, n: number, text: string): number {
  // In the flag's own units: "at least 500ms", "at least 4KiB", not a bare number.
  const shown = (limit: number) => (spec.kind === 'duration' ? formatDuration(limit) : spec.kind === 'size' ? formatSize(limit) : String(limit));
  if (spec.min !== undefined && n < spec.min) throw new UsageError(`--${spec.name}: must be at least ${shown(spec.min)}, got "${text}"`);
  if (spec.max !== undefined && n > spec.max) throw new UsageError(`--${spec.name}: must be at most ${shown(spec.max)}, got "${text}"`);
  return n;
}

function describeKind(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'size':
      return 'a size like 64KiB';
    case 'duration':
      return 'a duration like 5s';
    case 'count':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'address':
      return 'HOST:PORT, [IPv6]:PORT or unix:/path';
    case 'choice':
      return spec.choices?.join('|') ?? '';
    default:
      // A string flag says what it takes in its placeholder (CIDR[,CIDR...], FILE).
      return spec.placeholder ?? 'a value';
  }
}

/** Renders the option list for --help. */
export function formatOptionsHelp(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const value = s.kind === 'flag' ? '' : ` ${s.placeholder ?? (s.kind === 'choice' ? s.choices?.join('|') : placeholder(s.kind))}`;
    const left = `  --${s.name}${value}`;
    const right = s.help + (s.required ? ' (required)' : s.default !== undefined ? ` (default ${s.default})` : '') + (s.repeatable ? ' (repeatable)' : '');
    return [left, right] as const;
  });
  const width = Math.min(40, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, r]) => (l.length >= width ? `${l}\n${' '.repeat(width)}${r}` : l.padEnd(width) + r)).join('\n');
}

function placeholder(kind: OptionKind): string {
  return { size: 'SIZE', duration: 'DUR', count: 'N', number: 'X', address: 'HOST:PORT', choice: '', string: 'VALUE', flag: '' }[kind];
}
