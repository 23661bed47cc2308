import { ApiError, type ToxicView } from './control.js';

/**
 * The toxic types `sluice serve` knows, by toxiproxy's names. Until the toxics land as pipeline
 * stages, only `noop` (which clients and their tests use) is accepted; any other type is
 * toxiproxy's 400 `invalid toxic type`.
 */
export const TOXIC_TYPES: ReadonlySet<string> = new Set(['noop']);

/**
 * Parses a toxic as toxiproxy does: `stream` defaults to downstream, `toxicity` to 1, `name` to
 * `<type>_<stream>`; a bad stream or an unknown type is a 400 with toxiproxy's message.
 */
export function parseToxic(input: Record<string, unknown>): ToxicView {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw ApiError.badBody('a toxic must be a JSON object');
  const stream = input.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') throw ApiError.invalidStream();
  const type = input.type;
  if (typeof type !== 'string' || !TOXIC_TYPES.has(type)) throw ApiError.invalidToxicType();
  const name = input.name === undefined || input.name === '' ? `${type}_${stream}` : input.name;
  if (typeof name !== 'string') throw ApiError.badBody('name must be a string');
  const toxicity = toxicityOf(input.toxicity ?? 1);
  const attributes = input.attributes ?? {};
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) throw ApiError.badBody('attributes must be a JSON object');
  return { name, type, stream, toxicity, attributes: { ...(attributes as Record<string, unknown>) } };
}

/** An update: new attributes and toxicity on the toxic, the rest kept (toxiproxy's UpdateToxicJson). */
export function updateToxic(toxic: ToxicView, input: Record<string, unknown>): ToxicView {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw ApiError.badBody('a toxic must be a JSON object');
  const attributes = input.attributes ?? toxic.attributes;
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) throw ApiError.badBody('attributes must be a JSON object');
  return { ...toxic, toxicity: input.toxicity === undefined ? toxic.toxicity : toxicityOf(input.toxicity), attributes: { ...toxic.attributes, ...(attributes as Record<string, unknown>) } };
}

function toxicityOf(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw ApiError.badBody('toxicity must be a number from 0 to 1');
  return value;
}
