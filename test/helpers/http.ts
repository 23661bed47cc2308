import { request, type IncomingHttpHeaders } from 'node:http';

/** What one HTTP request got back, its body as text. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request to 127.0.0.1:port on a connection of its own (no keep-alive); rejects only when the connection fails. */
export function httpRequest(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The body of `GET path` on 127.0.0.1:port, whatever the status. */
export async function getText(port: number, path: string): Promise<string> {
  return (await httpRequest(port, path)).body;
}
