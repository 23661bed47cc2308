/** Pieces the checks share besides the scenarios harness: HTTP, metrics, rounding for the printed figures. */
import http from 'node:http';

export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** GET http://127.0.0.1:port/path; a fresh connection per request. */
export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${port}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Prometheus text: the sum of every sample of `name` (all label sets), and each sample by labels. */
export function metricSamples(text: string, name: string): { sum: number; byLabels: Record<string, number> } {
  const byLabels: Record<string, number> = {};
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const value = Number(m[3]);
    byLabels[m[2] ?? ''] = value;
    sum += value;
  }
  return { sum, byLabels };
}

/** Fetches /metrics and returns the summed samples of `name`. */
export async function metric(port: number, name: string): Promise<number> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  return metricSamples(body, name).sum;
}
