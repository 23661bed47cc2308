import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../scenarios/harness/processes.js';
import type { Tools } from '../tools.js';
import { running, startOnPort } from './launch.js';
import { hostPort, type Address, type Subject } from './types.js';

/** HAProxy defaults except what a TCP relay must say; nbthread left to HAProxy (one per core). */
function haproxyConfig(listenPort: number, target: Address): string {
  return [
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    // Long enough that idle connections in the 1000-connection case are never reaped.
    '    timeout client 1h',
    '    timeout server 1h',
    '',
    'listen relay',
    `    bind 127.0.0.1:${listenPort}`,
    `    server target ${hostPort(target)}`,
    '',
  ].join('\n');
}

/** HAProxy in mode tcp: the production-grade baseline the targets name. */
export function haproxy(tools: Tools, tmpDir: () => string): Subject {
  return {
    name: 'haproxy',
    describe: `HAProxy ${tools.haproxy.version ?? '?'} mode tcp, defaults`,
    unavailable: tools.haproxy.path ? null : 'haproxy not installed (bench/install-tools.sh)',
    async start(target) {
      const port = await freePort();
      const config = path.join(tmpDir(), `haproxy-${port}.cfg`);
      writeFileSync(config, haproxyConfig(port, target));
      // -db: stay in the foreground so the bench owns the process.
      const child = await startOnPort([tools.haproxy.path!, '-db', '-f', config], port, 'haproxy');
      return running('haproxy', { host: '127.0.0.1', port }, [child]);
    },
  };
}
