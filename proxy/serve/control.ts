/**
 * What `sluice serve`'s control API steers: a fleet of named proxies with their toxics and
 * connections. The HTTP layer (toxiproxy's API, api-server.ts) only parses requests and renders
 * answers; every decision and every error message is the fleet's, so a config file, a reload and
 * the API all go through the same checks.
 */
import type { ToxicSpec } from '../stages/toxics/index.js';

/** A toxic as toxiproxy's API shows it. */
export type ToxicView = ToxicSpec;

/** A proxy as the API shows it: toxiproxy's fields, then sluice's flow-control settings. */
export interface ProxyView {
  name: string;
  /** Resolved once listening (`localhost:0` shows the real `127.0.0.1:PORT`); as asked while disabled. */
  listen: string;
  /** As given. */
  upstream: string;
  enabled: boolean;
  toxics: ToxicView[];
  /** Flow-control settings under their flag names (`window`, `max-conns`, `overflow`, `rate`, ...), as in effect for new connections. */
  settings: Record<string, string | number | boolean>;
}

/** One open connection of a proxy (`GET /proxies/{p}/connections`). */
export interface ConnectionView {
  id: number;
  client: string;
  target: string;
  phase: string;
  ageMs: number;
  bytesUp: number;
  bytesDown: number;
}

/** How a request body asks for a proxy: toxiproxy's fields plus any sluice setting by flag name. */
export type ProxyInput = Record<string, unknown>;

/** How a request body asks for a toxic: toxiproxy's fields. */
export type ToxicInput = Record<string, unknown>;

/**
 * An error with the HTTP status and message toxiproxy answers with (clients compare the text).
 * The body is `{"error": message, "status": status}`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static badBody(detail: string): ApiError {
    return new ApiError(400, `bad request body: ${detail}`);
  }
  static missingField(field: string): ApiError {
    return new ApiError(400, `missing required field: ${field}`);
  }
  static proxyNotFound(): ApiError {
    return new ApiError(404, 'proxy not found');
  }
  static proxyExists(): ApiError {
    return new ApiError(409, 'proxy already exists');
  }
  static invalidStream(): ApiError {
    return new ApiError(400, 'stream was invalid, can be either upstream or downstream');
  }
  static invalidToxicType(): ApiError {
    return new ApiError(400, 'invalid toxic type');
  }
  static toxicExists(): ApiError {
    return new ApiError(409, 'toxic already exists');
  }
  static toxicNotFound(): ApiError {
    return new ApiError(404, 'toxic not found');
  }
  static connectionNotFound(): ApiError {
    return new ApiError(404, 'connection not found');
  }
}

/**
 * POST /populate stopped part-way (say a listen address was taken after two proxies were made):
 * toxiproxy answers the error beside the proxies made or kept before it, so this carries them.
 */
export class PopulateError extends ApiError {
  constructor(
    status: number,
    message: string,
    readonly proxies: ProxyView[],
  ) {
    super(status, message);
    this.name = 'PopulateError';
  }
}

/** What a reload did. */
export interface ReloadResult {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  /** Proxies the file named that could not take their new form (a bind, a spill directory): each keeps running as it was, or stays out if it is new. */
  failed: { name: string; error: string }[];
}

/** The fleet of proxies the control API steers; every method throws ApiError for a bad request. */
export interface ControlTarget {
  list(): ProxyView[];
  /** ApiError 404 when there is no such proxy. */
  get(name: string): ProxyView;
  /** 201 in the API; 400 missing name/upstream or a bad setting, 409 exists, 500 the bind error. */
  create(input: ProxyInput): Promise<ProxyView>;
  /**
   * POST /populate: idempotent, an existing proxy replaced only if listen or upstream differ; nothing created when one entry is bad.
   * A failure after some proxies were made throws PopulateError with them (toxiproxy lists them beside the error).
   */
  populate(inputs: ProxyInput[]): Promise<ProxyView[]>;
  /** POST/PATCH /proxies/{p}: enabled false takes it down, a new listen/upstream restarts it, settings apply to new connections. */
  update(name: string, input: ProxyInput): Promise<ProxyView>;
  remove(name: string): Promise<void>;
  /** POST /reset: every proxy enabled, every toxic removed. */
  reset(): Promise<void>;
  toxics(proxy: string): ToxicView[];
  toxic(proxy: string, name: string): ToxicView;
  addToxic(proxy: string, input: ToxicInput): Promise<ToxicView>;
  updateToxic(proxy: string, name: string, input: ToxicInput): Promise<ToxicView>;
  removeToxic(proxy: string, name: string): Promise<void>;
  connections(proxy: string, limit?: number): { total: number; connections: ConnectionView[] };
  /** DELETE /proxies/{p}/connections/{id}: resets that connection. */
  closeConnection(proxy: string, id: number): void;
  /** POST /reload (and SIGHUP): re-reads the config file; ApiError 400 with the reason when it does not parse or validate. */
  reload(): Promise<ReloadResult>;
}

/** toxiproxy's version this API follows, and sluice's own. */
export const API_VERSION = '2.12.0';
