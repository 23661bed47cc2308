import { request, type IncomingHttpHeaders } from 'node:http';
import { AcceptErrorCounts } from '../../proxy/net/accept-guard.js';
import { FdReserve } from '../../proxy/net/fd-reserve.js';
import { startControlApi, type ControlApi, type ControlApiOptions } from '../../proxy/serve/api-server.js';
import type { ControlTarget } from '../../proxy/serve/control.js';
import { tcp } from './tunnel.js';

/** A control API on 127.0.0.1:0 in front of `target`, with this test's own accounting (no process-wide fd reserve). */
export async function startTestApi(target: ControlTarget, options: ControlApiOptions = {}): Promise<{ api: ControlApi; port: number; url: string }> {
  const api = await startControlApi(tcp(0), target, {
    fdReserve: new FdReserve({ limit: null }),
    acceptErrors: new AcceptErrorCounts(),
    ...options,
  });
  const port = api.address.kind === 'tcp' ? api.address.port : 0;
  return { api, port, url: `http://127.0.0.1:${port}` };
}

/** An HTTP answer as received. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** What a test request may set. */
export interface Call {
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** One request on a fresh connection (no agent), the body sent as is; resolves with the whole answer. */
export function call(port: number, method: string, path: string, init: Call = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: { 'user-agent': 'sluice-test/1', ...init.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A JSON request body. */
export function json(value: unknown): Call {
  return { body: JSON.stringify(value), headers: { 'content-type': 'application/json' } };
}
