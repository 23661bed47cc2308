import { expect } from 'chai';
import { BadPathError, cleanPath, matchRoute, ROUTES } from '../../../proxy/serve/api-routes.js';

/** The route a request finds, or 404 / 405 with what is allowed. */
function found(method: string, path: string): string {
  const match = matchRoute(method, path);
  if (match.kind === 'route') {
    const params = Object.entries(match.params).map(([k, v]) => `${k}=${v}`);
    return [match.route.name, ...params].join(' ');
  }
  return match.kind === 'not-found' ? '404' : `405 ${match.allow.join(',')}`;
}

describe('control API routes (toxiproxy api.go, gorilla/mux)', () => {
  const table: [method: string, path: string, expected: string][] = [
    ['POST', '/reset', 'ResetState'],
    ['GET', '/proxies', 'ProxyIndex'],
    ['POST', '/proxies', 'ProxyCreate'],
    ['POST', '/populate', 'Populate'],
    ['GET', '/proxies/redis', 'ProxyShow proxy=redis'],
    ['POST', '/proxies/redis', 'ProxyUpdate proxy=redis'],
    ['PATCH', '/proxies/redis', 'ProxyUpdate proxy=redis'],
    ['DELETE', '/proxies/redis', 'ProxyDelete proxy=redis'],
    ['GET', '/proxies/redis/toxics', 'ToxicIndex proxy=redis'],
    ['POST', '/proxies/redis/toxics', 'ToxicCreate proxy=redis'],
    ['GET', '/proxies/redis/toxics/lag', 'ToxicShow proxy=redis toxic=lag'],
    ['POST', '/proxies/redis/toxics/lag', 'ToxicUpdate proxy=redis toxic=lag'],
    ['PATCH', '/proxies/redis/toxics/lag', 'ToxicUpdate proxy=redis toxic=lag'],
    ['DELETE', '/proxies/redis/toxics/lag', 'ToxicDelete proxy=redis toxic=lag'],
    ['GET', '/version', 'Version'],
    ['GET', '/proxies/redis/connections', 'ConnectionIndex proxy=redis'],
    ['DELETE', '/proxies/redis/connections/7', 'ConnectionDelete proxy=redis id=7'],
    ['POST', '/reload', 'Reload'],
    // Path parts are percent-decoded after the split, so a name may hold a slash or a space.
    ['GET', '/proxies/my%20proxy%2F1', 'ProxyShow proxy=my proxy/1'],
    ['GET', '/proxies/a/toxics/b%3Fc', 'ToxicShow proxy=a toxic=b?c'],
    // mux answers 405 (no Allow header; ours lists the methods) when only the method is wrong...
    ['DELETE', '/proxies', '405 GET,POST'],
    ['PUT', '/proxies/redis', '405 GET,POST,PATCH,DELETE'],
    ['HEAD', '/version', '405 GET'],
    ['GET', '/reset', '405 POST'],
    ['GET', '/populate', '405 POST'],
    ['PUT', '/proxies/r/toxics/t', '405 GET,POST,PATCH,DELETE'],
    ['GET', '/proxies/r/connections/1', '405 DELETE'],
    // ...and 404 when no route has the path: no trailing slash, no empty name, nothing else.
    ['GET', '/', '404'],
    ['GET', '/proxies/', '404'],
    ['GET', '/proxies/redis/', '404'],
    ['GET', '/proxies/redis/toxics/', '404'],
    ['GET', '/metrics', '404'],
    ['GET', '/proxies/a/b', '404'],
    ['GET', '/Proxies', '404'],
  ];
  for (const [method, path, expected] of table) {
    it(`${method} ${path} -> ${expected}`, () => {
      expect(found(method, path)).to.equal(expected);
    });
  }

  it('has every route of toxiproxy 2.x (api.go Routes), in its order, then sluice\'s three', () => {
    expect(ROUTES.map((r) => `${r.methods.join(',')} /${r.template.join('/')}`)).to.deep.equal([
      'POST /reset',
      'GET /proxies',
      'POST /proxies',
      'POST /populate',
      'GET /proxies/{proxy}',
      'POST,PATCH /proxies/{proxy}',
      'DELETE /proxies/{proxy}',
      'GET /proxies/{proxy}/toxics',
      'POST /proxies/{proxy}/toxics',
      'GET /proxies/{proxy}/toxics/{toxic}',
      'POST,PATCH /proxies/{proxy}/toxics/{toxic}',
      'DELETE /proxies/{proxy}/toxics/{toxic}',
      'GET /version',
      'GET /proxies/{proxy}/connections',
      'DELETE /proxies/{proxy}/connections/{id}',
      'POST /reload',
    ]);
  });

  it('a malformed escape in a name is a BadPathError naming the segment', () => {
    expect(() => matchRoute('GET', '/proxies/%zz')).to.throw(BadPathError, '"%zz"');
  });

  const clean: [string, string][] = [
    ['', '/'],
    ['/', '/'],
    ['/proxies', '/proxies'],
    ['/proxies/', '/proxies/'],
    ['//proxies', '/proxies'],
    ['/proxies//redis', '/proxies/redis'],
    ['/proxies/./redis', '/proxies/redis'],
    ['/proxies/x/../redis', '/proxies/redis'],
    ['/../proxies', '/proxies'],
    ['/proxies/redis/.', '/proxies/redis'],
    ['/proxies/redis/..', '/proxies'],
    ['proxies', '/proxies'],
    ['/a/b/../../', '/'],
  ];
  for (const [path, expected] of clean) {
    it(`cleanPath(${JSON.stringify(path)}) = ${JSON.stringify(expected)} (mux cleanPath: Go path.Clean, trailing slash kept)`, () => {
      expect(cleanPath(path)).to.equal(expected);
    });
  }
});
