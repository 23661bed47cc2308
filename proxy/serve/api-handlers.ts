import { ApiError, PopulateError, type ControlTarget } from './control.js';
import {
  parseObjectBody,
  parsePopulateBody,
  renderConnections,
  renderError,
  renderPopulate,
  renderProxy,
  renderProxyIndex,
  renderToxic,
} from './api-json.js';
import type { RouteName } from './api-routes.js';

/**
 * What each route does with the fleet and how it answers, handler by handler as toxiproxy's
 * api.go: which lookups come before the body is read (a missing proxy is 404 even with a bad
 * body), which status a success gets (create 201, toxic create 200, deletes and reset 204),
 * and which content type each answer carries.
 */

/** An HTTP answer before it is written. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** What a handler gets: the captured path parts, the query and the body (empty unless the route takes one). */
export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Buffer;
}

/** Everything a handler may use. */
export interface HandlerContext {
  target: ControlTarget;
  /** What `GET /version` reports. */
  version: string;
}

const JSON_TYPE = 'application/json';
// Go's http.Error, which toxiproxy's apiError ends in, replaces the JSON content type with this.
const ERROR_HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' };

/** A JSON answer as toxiproxy writes one: `application/json`, no trailing newline. */
export function jsonAnswer(status: number, value: unknown): Answer {
  return { status, headers: { 'Content-Type': JSON_TYPE }, body: typeof value === 'string' ? value : JSON.stringify(value) };
}

/** A plain-text answer as Go's http.Error writes one (text/plain, nosniff, a trailing newline). */
export function textAnswer(status: number, text: string): Answer {
  return { status, headers: { ...ERROR_HEADERS }, body: `${text}\n` };
}

/** An error answer as toxiproxy's apiError writes it: `{"error","status"}` through http.Error. */
export function errorAnswer(error: ApiError): Answer {
  return textAnswer(error.status, JSON.stringify(renderError(error)));
}

/** The error toxiproxy would answer for anything thrown: an ApiError as it is, anything else 500 with its message. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}

const NO_CONTENT: Answer = { status: 204 };

/**
 * A proxy body as toxiproxy's API reads it: without `toxics`, which its Proxy struct never
 * decodes (`json:"-"`). Its Go client sends the field on every create, update and populate
 * (`"toxics": null`, or the toxics it last saw), and toxics are changed only through
 * /proxies/{p}/toxics; a config file's `toxics` is the fleet's business, not the API's.
 */
export function proxyBody(input: Record<string, unknown>): Record<string, unknown> {
  if (!('toxics' in input)) return input;
  const { toxics: _ignored, ...rest } = input;
  return rest;
}

type Handler = (ctx: HandlerContext, req: RouteRequest) => Answer | Promise<Answer>;

/** Every route's handler. */
export const HANDLERS: Record<RouteName, Handler> = {
  async ResetState({ target }) {
    await target.reset();
    return NO_CONTENT;
  },

  ProxyIndex({ target }) {
    return jsonAnswer(200, renderProxyIndex(target.list()));
  },

  async ProxyCreate({ target }, { body }) {
    const input = proxyBody(parseObjectBody(body));
    return jsonAnswer(201, renderProxy(await target.create(input)));
  },

  // toxiproxy writes populate's errors itself, as JSON beside the proxies made so far, with the error's status.
  async Populate({ target }, { body }) {
    try {
      const proxies = await target.populate(parsePopulateBody(body).map(proxyBody));
      return jsonAnswer(201, renderPopulate(proxies));
    } catch (err) {
      const error = asApiError(err);
      return jsonAnswer(error.status, renderPopulate(err instanceof PopulateError ? err.proxies : [], error));
    }
  },

  ProxyShow({ target }, { params }) {
    return jsonAnswer(200, renderProxy(target.get(params.proxy!)));
  },

  async ProxyUpdate({ target }, { params, body }) {
    target.get(params.proxy!);
    const input = proxyBody(parseObjectBody(body));
    return jsonAnswer(200, renderProxy(await target.update(params.proxy!, input)));
  },

  async ProxyDelete({ target }, { params }) {
    await target.remove(params.proxy!);
    return NO_CONTENT;
  },

  ToxicIndex({ target }, { params }) {
    return jsonAnswer(200, target.toxics(params.proxy!).map(renderToxic));
  },

  // 200, not 201: toxiproxy's ToxicCreate never sets a status.
  async ToxicCreate({ target }, { params, body }) {
    target.get(params.proxy!);
    const input = parseObjectBody(body);
    return jsonAnswer(200, renderToxic(await target.addToxic(params.proxy!, input)));
  },

  ToxicShow({ target }, { params }) {
    return jsonAnswer(200, renderToxic(target.toxic(params.proxy!, params.toxic!)));
  },

  // toxiproxy looks the toxic up before it decodes the body: a missing one is 404 whatever was sent.
  async ToxicUpdate({ target }, { params, body }) {
    target.toxic(params.proxy!, params.toxic!);
    const input = parseObjectBody(body);
    return jsonAnswer(200, renderToxic(await target.updateToxic(params.proxy!, params.toxic!, input)));
  },

  async ToxicDelete({ target }, { params }) {
    await target.removeToxic(params.proxy!, params.toxic!);
    return NO_CONTENT;
  },

  // Written by hand in api.go, with a space after the colon and a newline; the content type has no space.
  Version({ version }) {
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json;charset=utf-8' },
      body: `{"version": ${JSON.stringify(version)}}\n`,
    };
  },

  ConnectionIndex({ target }, { params, query }) {
    return jsonAnswer(200, renderConnections(target.connections(params.proxy!, parseLimit(query.get('limit')))));
  },

  ConnectionDelete({ target }, { params }) {
    const id = params.id!;
    if (!/^\d+$/.test(id) || !Number.isSafeInteger(Number(id))) {
      // No connection has such an id; a missing proxy still says so first.
      target.get(params.proxy!);
      throw ApiError.connectionNotFound();
    }
    target.closeConnection(params.proxy!, Number(id));
    return NO_CONTENT;
  },

  async Reload({ target }) {
    return jsonAnswer(200, await target.reload());
  },
};

/** `?limit=N`: absent means the fleet's default; anything but a whole number is 400. */
function parseLimit(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ApiError(400, `invalid limit: expected a whole number, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
