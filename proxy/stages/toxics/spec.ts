/**
 * A toxic as toxiproxy's API describes it, `{name, type, stream, toxicity, attributes}`, and its
 * parsing: one parser for the control API, serve's config file and `--toxic` on the command line.
 */
import { TOXIC_SCHEMAS, type AttributeSchema } from './schemas.js';

/** `upstream` is client to server, `downstream` server to client (toxiproxy's names). */
export type ToxicStream = 'upstream' | 'downstream';

/** One toxic on a proxy. */
export interface ToxicSpec {
  name: string;
  type: string;
  stream: ToxicStream;
  /** Chance (0..1) that the toxic applies to a given connection, drawn once per connection. */
  toxicity: number;
  /** Every attribute of the type, defaults filled in (as toxiproxy answers them). */
  attributes: Record<string, number>;
}

/** What was wrong with a toxic: the kind picks toxiproxy's answer (its messages for stream and type). */
export class ToxicSpecError extends Error {
  constructor(
    message: string,
    readonly kind: 'stream' | 'type' | 'body',
  ) {
    super(message);
    this.name = 'ToxicSpecError';
  }
}

/** The toxic types known, by toxiproxy's names and sluice's own. */
export const TOXIC_TYPES: readonly string[] = Object.keys(TOXIC_SCHEMAS);

/**
 * Parses a toxic as toxiproxy does: `stream` defaults to downstream, `toxicity` to 1, `name` to
 * `<type>_<stream>`; attributes are checked against the type (unknown ones ignored, as toxiproxy's
 * JSON decoding ignores them) and the missing ones take their defaults.
 */
export function parseToxicSpec(input: unknown): ToxicSpec {
  const body = objectOf(input, 'a toxic');
  const stream = body.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') throw new ToxicSpecError('stream was invalid, can be either upstream or downstream', 'stream');
  const type = body.type;
  if (typeof type !== 'string' || !Object.hasOwn(TOXIC_SCHEMAS, type)) throw new ToxicSpecError('invalid toxic type', 'type');
  // JSON null leaves a Go field as it was: the default, as for the stream and toxicity.
  const name = body.name === undefined || body.name === null || body.name === '' ? `${type}_${stream}` : body.name;
  if (typeof name !== 'string') throw new ToxicSpecError('name must be a string', 'body');
  const toxicity = toxicityOf(body.toxicity ?? 1);
  const attributes = attributesOf(type, objectOf(body.attributes ?? {}, 'attributes'), {});
  return { name, type, stream, toxicity, attributes };
}

/** An update: new attributes and toxicity on the toxic, the rest kept (toxiproxy's UpdateToxicJson). */
export function updateToxicSpec(toxic: ToxicSpec, input: unknown): ToxicSpec {
  const body = objectOf(input, 'a toxic');
  const toxicity = body.toxicity === undefined || body.toxicity === null ? toxic.toxicity : toxicityOf(body.toxicity);
  const attributes = attributesOf(toxic.type, objectOf(body.attributes ?? {}, 'attributes'), toxic.attributes);
  return { ...toxic, toxicity, attributes };
}

/**
 * `--toxic TYPE[:STREAM][:KEY=VALUE,...]`, e.g. `latency:downstream:latency=100,jitter=10`, into
 * the object the API takes (then parsed by parseToxicSpec like any other).
 */
export function toxicObjectFromFlag(text: string): Record<string, unknown> {
  const [type = '', ...rest] = text.split(':');
  let stream: string | undefined;
  let pairs = '';
  if (rest.length === 1) (rest[0]!.includes('=') ? (pairs = rest[0]!) : (stream = rest[0]));
  else if (rest.length === 2) [stream, pairs] = rest as [string, string];
  else if (rest.length > 2) throw new ToxicSpecError(`'${text}' has more than TYPE:STREAM:ATTRIBUTES`, 'body');
  const attributes: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const pair of pairs.split(',').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ToxicSpecError(`'${pair}' is not KEY=VALUE`, 'body');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const number = value.trim() === '' ? Number.NaN : Number(value);
    if (key === 'name') extra.name = value;
    else if (key === 'toxicity') extra.toxicity = number;
    else attributes[key] = Number.isNaN(number) ? value : number;
  }
  // The API ignores unknown attributes as toxiproxy does; on a command line one is a typo, named here.
  const schema = Object.hasOwn(TOXIC_SCHEMAS, type) ? TOXIC_SCHEMAS[type]! : null;
  const unknown = schema ? Object.keys(attributes).find((key) => !schema.some((a) => a.name === key)) : undefined;
  if (schema && unknown !== undefined) {
    const known = schema.length > 0 ? schema.map((a) => a.name).join(', ') : 'none';
    throw new ToxicSpecError(`${type} has no attribute '${unknown}' (it has ${known})`, 'body');
  }
  return { type, ...(stream ? { stream } : {}), ...extra, attributes };
}

function attributesOf(type: string, given: Record<string, unknown>, base: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const schema of TOXIC_SCHEMAS[type]!) {
    const value = given[schema.name] ?? base[schema.name] ?? schema.default;
    out[schema.name] = checked(schema, value);
  }
  for (const check of crossChecks[type] ?? []) check(out);
  return out;
}

function checked(schema: AttributeSchema, value: unknown): number {
  const kind = schema.whole ? 'a whole number' : 'a number';
  const range = schema.max === undefined ? `>= ${schema.min}` : `from ${schema.min} to ${schema.max}`;
  const ok = typeof value === 'number' && Number.isFinite(value) && (!schema.whole || Number.isSafeInteger(value)) && value >= schema.min && (schema.max === undefined || value <= schema.max);
  if (!ok) throw new ToxicSpecError(`attributes.${schema.name} must be ${kind} ${range}${schema.unit ? ` (${schema.unit})` : ''}`, 'body');
  return value;
}

// Checks across attributes: toxiproxy's slicer needs its variation below its average size.
const crossChecks: Record<string, ((a: Record<string, number>) => void)[]> = {
  slicer: [
    (a) => {
      if (a.size_variation! >= a.average_size!) throw new ToxicSpecError('attributes.size_variation must be below attributes.average_size', 'body');
    },
  ],
};

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ToxicSpecError(`${what} must be a JSON object`, 'body');
  return value as Record<string, unknown>;
}

function toxicityOf(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new ToxicSpecError('toxicity must be a number from 0 to 1', 'body');
  return value;
}
