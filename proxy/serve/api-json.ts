import { ApiError, type ConnectionView, type ProxyInput, type ProxyView, type ToxicView } from './control.js';

/**
 * The control API's JSON, byte for byte as toxiproxy writes it where clients can see the
 * difference: field order from its Go structs (api.go `proxyToxics`, proxy.go `Proxy`,
 * toxics/toxic.go `ToxicWrapper`), `GET /proxies` keyed in sorted order (Go sorts map keys), and
 * request bodies read with its error texts (`bad request body: EOF`).
 */

/** A toxic in toxiproxy's field order: `ToxicWrapper` embeds the toxic as `attributes` first. */
export function renderToxic(toxic: ToxicView): Record<string, unknown> {
  return {
    attributes: toxic.attributes,
    name: toxic.name,
    type: toxic.type,
    stream: toxic.stream,
    toxicity: toxic.toxicity,
  };
}

/** A proxy in toxiproxy's field order (name, listen, upstream, enabled, toxics), then sluice's settings. */
export function renderProxy(proxy: ProxyView): Record<string, unknown> {
  return {
    name: proxy.name,
    listen: proxy.listen,
    upstream: proxy.upstream,
    enabled: proxy.enabled,
    toxics: proxy.toxics.map(renderToxic),
    settings: proxy.settings,
  };
}

/**
 * `GET /proxies`: an object name -> proxy with its keys in byte order, as Go's encoding/json
 * writes a map (a JS object would put names like "9" before "10" and the rest in insertion order).
 */
export function renderProxyIndex(proxies: ProxyView[]): string {
  const sorted = [...proxies].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return `{${sorted.map((p) => `${JSON.stringify(p.name)}:${JSON.stringify(renderProxy(p))}`).join(',')}}`;
}

/** `GET /proxies/{p}/connections`: how many there are and the first `limit` of them. */
export function renderConnections(answer: { total: number; connections: ConnectionView[] }): Record<string, unknown> {
  return { total: answer.total, connections: answer.connections };
}

/** An error as toxiproxy's `ApiError` marshals: `{"error": message, "status": code}`. */
export function renderError(error: ApiError): Record<string, unknown> {
  return { error: error.message, status: error.status };
}

/**
 * `POST /populate`'s answer (api.go `Populate`): on success `{"proxies": [...]}`; on failure the
 * error's fields first, then the proxies made before it. toxiproxy writes `null` for no proxies,
 * which toxiproxy-node-client cannot iterate; an empty array reads the same to every other client.
 */
export function renderPopulate(proxies: ProxyView[], error?: ApiError): Record<string, unknown> {
  const made = { proxies: proxies.map(renderProxy) };
  return error ? { ...renderError(error), ...made } : made;
}

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  // Go's json.Decoder says EOF for an empty body and "unexpected EOF" for a cut one; clients and
  // people have seen those words from toxiproxy, so they are kept.
  if (text.trim() === '') throw ApiError.badBody('EOF');
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    throw ApiError.badBody(endsEarly(message, text) ? 'unexpected EOF' : message);
  }
}

/** Whether V8's parse error is at the end of the text (the JSON was cut), not at a wrong character. */
function endsEarly(message: string, text: string): boolean {
  if (/end of JSON input/i.test(message)) return true;
  const at = /at position (\d+)/.exec(message);
  return at !== null && Number(at[1]) >= text.trimEnd().length;
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A body that must be one JSON object (a proxy, a toxic); `null` reads as `{}`, as Go decodes it into a struct. */
export function parseObjectBody(body: Buffer): Record<string, unknown> {
  const value = parseJson(body);
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw ApiError.badBody(`expected a JSON object, got ${describeJson(value)}`);
  }
  return value as Record<string, unknown>;
}

/** `POST /populate`'s body: a JSON array of proxies (toxiproxy's config file format); `null` reads as `[]`. */
export function parsePopulateBody(body: Buffer): ProxyInput[] {
  const value = parseJson(body);
  if (value === null) return [];
  if (!Array.isArray(value)) throw ApiError.badBody(`expected a JSON array of proxies, got ${describeJson(value)}`);
  return value.map((entry: unknown, i) => {
    // A null entry decodes to an empty proxy in Go, which the fleet then names as missing its name.
    if (entry === null) return {};
    if (typeof entry !== 'object' || Array.isArray(entry)) {
      throw ApiError.badBody(`expected a JSON object at proxy ${i + 1}, got ${describeJson(entry)}`);
    }
    return entry as ProxyInput;
  });
}
