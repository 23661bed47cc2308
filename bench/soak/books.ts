import { get } from 'node:http';

/**
 * A sidecar's connection books, read from its /metrics: what it accepted, what finished (by how
 * it ended), and what holds or waits for a slot. Once the load is over and everything has wound
 * down, accepted = finished: a connection that is neither active nor finished was lost track of.
 */
export interface ConnectionBooks {
  accepted: number;
  finished: number;
  /** Finished connections by their `end` label (closed, reset, idle, ...). */
  byEnd: Record<string, number>;
  active: number;
  queued: number;
}

/** The /metrics text of the sidecar whose metrics listen on port ('' if it does not answer). */
export function metricsText(port: number): Promise<string> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', () => resolve(''));
  });
}

/** One unlabelled sample from a /metrics text (NaN if absent). */
export function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Reads a sidecar's connection books from its metrics port. */
export async function connectionBooks(port: number): Promise<ConnectionBooks> {
  const text = await metricsText(port);
  const byEnd: Record<string, number> = {};
  for (const m of text.matchAll(/^sluice_connections_closed_total\{end="([^"]+)"\} (\S+)$/gm)) byEnd[m[1]!] = Number(m[2]);
  return {
    accepted: sample(text, 'sluice_connections_total'),
    finished: Object.values(byEnd).reduce((a, b) => a + b, 0),
    byEnd,
    active: sample(text, 'sluice_connections_active'),
    queued: sample(text, 'sluice_connections_queued'),
  };
}

/** One line for the report: "relay: accepted 10, finished 10 (closed 8, reset 2), active 0, queued 0". */
export function describeBooks(name: string, b: ConnectionBooks): string {
  const ends = Object.entries(b.byEnd)
    .map(([end, n]) => `${end} ${n}`)
    .join(', ');
  return `${name}: accepted ${b.accepted}, finished ${b.finished} (${ends}), active ${b.active}, queued ${b.queued}`;
}
