/**
 * Checks the options a library caller hands a constructor, once, in that constructor (libp2p's
 * `config.ts`): a bad value let through is used later, from a socket's event handler, where its
 * RangeError crashes the caller's process and names an internal parameter. Each error names the
 * option as the caller spelled it and the bound it broke. Absent (undefined) options are not
 * checked: they take their defaults.
 */

import { MAX_TIMER_MS } from '../../windowing/timer-limit.js';

/** An option of the wrong type (a string where a number belongs). */
export class OptionTypeError extends TypeError {
  readonly code = 'ERR_INVALID_OPTION_TYPE';
  constructor(
    readonly option: string,
    expected: string,
    value: unknown,
  ) {
    super(`${option} must be ${expected}, got ${describeValue(value)}`);
  }
}

/** An option of the right type outside its bounds (a negative count, NaN, a fraction of a byte). */
export class OptionRangeError extends RangeError {
  readonly code = 'ERR_OPTION_OUT_OF_RANGE';
  constructor(
    readonly option: string,
    expected: string,
    value: unknown,
  ) {
    super(`${option} must be ${expected}, got ${describeValue(value)}`);
  }
}

/** Throws OptionTypeError or OptionRangeError naming `name` when `value` is not acceptable. */
export type Check = (name: string, value: unknown) => void;

/** A whole number from `min` to `max`. */
export function whole(min: number, max: number = Number.MAX_SAFE_INTEGER): Check {
  const expected = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  return (name, value) => {
    if (typeof value !== 'number') throw new OptionTypeError(name, expected, value);
    if (!Number.isInteger(value) || value < min || value > max) throw new OptionRangeError(name, expected, value);
  };
}

/** Milliseconds for a timer: a whole number from `min` (0 where 0 turns it off) to what setTimeout keeps. */
export function durationMs(min: 0 | 1): Check {
  return whole(min, MAX_TIMER_MS);
}

/** A number above `min` and at most `max` (a share such as shedAt). */
export function above(min: number, max: number): Check {
  const expected = `a number above ${min} and at most ${max}`;
  return (name, value) => {
    if (typeof value !== 'number') throw new OptionTypeError(name, expected, value);
    if (!(value > min && value <= max)) throw new OptionRangeError(name, expected, value);
  };
}

/** Any finite number (a time on the caller's clock). */
export const finite: Check = (name, value) => {
  if (typeof value !== 'number') throw new OptionTypeError(name, 'a finite number', value);
  if (!Number.isFinite(value)) throw new OptionRangeError(name, 'a finite number', value);
};

/** One of a few strings. */
export function oneOf(choices: readonly string[]): Check {
  const expected = `one of ${choices.map((c) => `'${c}'`).join(', ')}`;
  return (name, value) => {
    if (typeof value !== 'string') throw new OptionTypeError(name, expected, value);
    if (!choices.includes(value)) throw new OptionRangeError(name, expected, value);
  };
}

/** true or false. */
export const bool: Check = (name, value) => {
  if (typeof value !== 'boolean') throw new OptionTypeError(name, 'true or false', value);
};

/** A function (a callback, a clock). */
export const func: Check = (name, value) => {
  if (typeof value !== 'function') throw new OptionTypeError(name, 'a function', value);
};

/** A string. */
export const text: Check = (name, value) => {
  if (typeof value !== 'string') throw new OptionTypeError(name, 'a string', value);
};

/** An object (a reader, a budget, a listener: what it must do is its own type's business). */
export const object: Check = (name, value) => {
  if (typeof value !== 'object' || value === null) throw new OptionTypeError(name, 'an object', value);
};

/** An array. */
export const list: Check = (name, value) => {
  if (!Array.isArray(value)) throw new OptionTypeError(name, 'an array', value);
};

/** An object or null (node:tls options, where null means plain TCP). */
export const objectOrNull: Check = (name, value) => {
  if (value !== null) object(name, value);
};

/**
 * An Address: `{ kind: 'tcp', host, port }` or `{ kind: 'unix', path }`. A string such as
 * '127.0.0.1:0' is refused with a pointer to parseAddress, which reads the CLI's forms.
 */
export const address: Check = (name, value) => {
  const expected = "an Address ({ kind: 'tcp', host, port } or { kind: 'unix', path })";
  if (typeof value === 'string') throw new OptionTypeError(name, `${expected}: use parseAddress(${JSON.stringify(value)})`, value);
  if (typeof value !== 'object' || value === null) throw new OptionTypeError(name, expected, value);
  const a = value as { kind?: unknown; host?: unknown; port?: unknown; path?: unknown };
  if (a.kind === 'tcp') {
    if (typeof a.host !== 'string' || a.host === '') throw new OptionTypeError(`${name}.host`, 'a host name or IP address', a.host);
    whole(0, 65535)(`${name}.port`, a.port);
  } else if (a.kind === 'unix') {
    if (typeof a.path !== 'string' || a.path === '') throw new OptionTypeError(`${name}.path`, 'a socket path', a.path);
  } else {
    throw new OptionTypeError(`${name}.kind`, "'tcp' or 'unix'", a.kind);
  }
};

/** A check for every option of `T`, by name: an option added without one, or a misspelt name, does not compile. */
export type Checks<T> = { readonly [K in keyof T]-?: Check };

/**
 * Runs the check of every option present in `options`, and of those `required` ones absent too
 * (an absent one fails its check as undefined). `prefix` names a nested object (`messages.`).
 * Throws on the first bad one; unknown keys are let be (option objects are often shared between
 * a sidecar and what it builds).
 */
export function checkOptions<T extends object>(options: T, checks: Checks<T>, required: readonly (keyof T & string)[] = [], prefix = ''): void {
  if (typeof options !== 'object' || options === null) throw new OptionTypeError(prefix === '' ? 'options' : prefix.slice(0, -1), 'an object', options);
  for (const name in checks) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined || required.includes(name)) (checks[name] as Check)(prefix + name, value);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}
