/**
 * The control API's routes and how a request finds one, as toxiproxy's gorilla/mux router
 * does (api.go `Routes`, mux v1.8.1 `Router.Match`): routes are tried in order and the first
 * whose method and path both match wins; a path that some route matches with another method is
 * 405, any other path 404. `{name}` matches one non-empty path segment, percent-decoded.
 */

/** The name of a route: toxiproxy's handler names, then sluice's own. */
export type RouteName =
  | 'ResetState'
  | 'ProxyIndex'
  | 'ProxyCreate'
  | 'Populate'
  | 'ProxyShow'
  | 'ProxyUpdate'
  | 'ProxyDelete'
  | 'ToxicIndex'
  | 'ToxicCreate'
  | 'ToxicShow'
  | 'ToxicUpdate'
  | 'ToxicDelete'
  | 'Version'
  | 'ConnectionIndex'
  | 'ConnectionDelete'
  | 'Reload';

/** One route: methods, a path template, and whether its handler reads a JSON body. */
export interface Route {
  name: RouteName;
  methods: readonly string[];
  /** Segments; `{x}` captures one. */
  template: readonly string[];
  takesBody: boolean;
}

function route(name: RouteName, methods: string, template: string, takesBody = false): Route {
  return { name, methods: methods.split(','), template: template.split('/').slice(1), takesBody };
}

/** Every route, in toxiproxy's order (api.go), then sluice's additions. */
export const ROUTES: readonly Route[] = [
  route('ResetState', 'POST', '/reset'),
  route('ProxyIndex', 'GET', '/proxies'),
  route('ProxyCreate', 'POST', '/proxies', true),
  route('Populate', 'POST', '/populate', true),
  route('ProxyShow', 'GET', '/proxies/{proxy}'),
  // toxiproxy deprecates POST here in favour of PATCH, but its clients still send POST.
  route('ProxyUpdate', 'POST,PATCH', '/proxies/{proxy}', true),
  route('ProxyDelete', 'DELETE', '/proxies/{proxy}'),
  route('ToxicIndex', 'GET', '/proxies/{proxy}/toxics'),
  route('ToxicCreate', 'POST', '/proxies/{proxy}/toxics', true),
  route('ToxicShow', 'GET', '/proxies/{proxy}/toxics/{toxic}'),
  route('ToxicUpdate', 'POST,PATCH', '/proxies/{proxy}/toxics/{toxic}', true),
  route('ToxicDelete', 'DELETE', '/proxies/{proxy}/toxics/{toxic}'),
  route('Version', 'GET', '/version'),
  route('ConnectionIndex', 'GET', '/proxies/{proxy}/connections'),
  route('ConnectionDelete', 'DELETE', '/proxies/{proxy}/connections/{id}'),
  route('Reload', 'POST', '/reload'),
];

/** What a request found: a route with its captured (decoded) segments, or why not. */
export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/** A path segment that does not percent-decode (`%zz`, a lone surrogate). */
export class BadPathError extends Error {
  constructor(readonly segment: string) {
    super(`invalid URL escape in "${segment}"`);
    this.name = 'BadPathError';
  }
}

/** Finds the route for `method` and a clean path without its query; throws BadPathError for a malformed escape. */
export function matchRoute(method: string, path: string, routes: readonly Route[] = ROUTES): RouteMatch {
  const segments = path.split('/').slice(1);
  const allow: string[] = [];
  for (const candidate of routes) {
    const params = matchTemplate(candidate.template, segments);
    if (params === null) continue;
    if (candidate.methods.includes(method)) return { kind: 'route', route: candidate, params };
    allow.push(...candidate.methods);
  }
  return allow.length > 0 ? { kind: 'method-not-allowed', allow: [...new Set(allow)] } : { kind: 'not-found' };
}

function matchTemplate(template: readonly string[], segments: string[]): Record<string, string> | null {
  if (template.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const part = template[i]!;
    const segment = segments[i]!;
    if (part.startsWith('{')) {
      if (segment === '') return null;
      params[part.slice(1, -1)] = decodeSegment(segment);
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadPathError(segment);
  }
}

/**
 * The canonical form of a path, as mux's `cleanPath` (Go's path.Clean, keeping a trailing
 * slash): no empty, `.` or `..` segments. mux answers a path that differs with 301 to this.
 */
export function cleanPath(path: string): string {
  if (path === '') return '/';
  if (!path.startsWith('/')) path = `/${path}`;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  let clean = `/${out.join('/')}`;
  if (path.endsWith('/') && clean !== '/') clean += '/';
  return clean;
}
