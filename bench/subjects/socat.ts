import { freePort } from '../../scenarios/harness/processes.js';
import type { Tools } from '../tools.js';
import { running, startOnPort } from './launch.js';
import { hostPort, type Subject } from './types.js';

/** socat forking a process per connection: the relay people reach for from a shell. */
export function socat(tools: Tools): Subject {
  return {
    name: 'socat',
    describe: `socat ${tools.socat.version ?? '?'} TCP-LISTEN fork (one process per connection)`,
    unavailable: tools.socat.path ? null : 'socat not installed (bench/install-tools.sh)',
    async start(target) {
      const port = await freePort();
      // backlog=511 matches Node's listen default; socat's own default of 5 would drop SYNs in
      // the 1000-connection case and measure the queue, not the relay.
      const argv = [tools.socat.path!, `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=511`, `TCP:${hostPort(target)}`];
      const child = await startOnPort(argv, port, 'socat');
      return running('socat', { host: '127.0.0.1', port }, [child]);
    },
  };
}
