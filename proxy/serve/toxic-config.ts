import { parseToxicSpec, ToxicSpecError, updateToxicSpec } from '../stages/toxics/index.js';
import { ApiError, type ToxicView } from './control.js';

/** Parses a toxic from the API or the config file (parseToxicSpec), failing with toxiproxy's answers. */
export function parseToxic(input: unknown): ToxicView {
  return asApiError(() => parseToxicSpec(input));
}

/** An update: new attributes and toxicity on the toxic, the rest kept (toxiproxy's UpdateToxicJson). */
export function updateToxic(toxic: ToxicView, input: unknown): ToxicView {
  return asApiError(() => updateToxicSpec(toxic, input));
}

/** Runs `f`, turning a ToxicSpecError into the 400 toxiproxy answers with. */
export function asApiError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof ToxicSpecError)) throw err;
    if (err.kind === 'stream') throw ApiError.invalidStream();
    if (err.kind === 'type') throw ApiError.invalidToxicType();
    throw ApiError.badBody(err.message);
  }
}
