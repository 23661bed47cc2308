import { createServer, type Server, type Socket } from 'node:net';

/**
 * The soak's target: one port whose behaviour each connection chooses with its first line,
 * `mode=<echo|slow|reset|vanish>\n`:
 *   echo    echo everything back, end after the client ends
 *   slow    echo, but read at ~256 KB/s
 *   reset   echo a little, then reset the connection at a random point
 *   vanish  read a little, then close without a word
 */
export const SOAK_MODES = ['echo', 'slow', 'reset', 'vanish'] as const;
export type SoakMode = (typeof SOAK_MODES)[number];

export function startMixedTarget(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s: Socket) => {
    s.on('error', () => {});
    let head = Buffer.alloc(0);
    const onFirst = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      s.off('data', onFirst);
      const mode = head.subarray(0, nl).toString().replace('mode=', '') as SoakMode;
      const rest = head.subarray(nl + 1);
      behave(s, mode, rest);
    };
    s.on('data', onFirst);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function behave(s: Socket, mode: SoakMode, first: Buffer): void {
  if (first.length > 0) s.write(first);
  switch (mode) {
    case 'echo':
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
      return;
    case 'slow': {
      const started = performance.now();
      let taken = first.length;
      let timer: NodeJS.Timeout | undefined;
      s.on('close', () => clearTimeout(timer));
      s.on('data', (d: Buffer) => {
        s.write(d);
        taken += d.length;
        const aheadMs = (taken / 256_000) * 1000 - (performance.now() - started);
        if (aheadMs > 1) {
          s.pause();
          timer = setTimeout(() => s.resume(), aheadMs);
        }
      });
      s.on('end', () => s.end());
      return;
    }
    case 'reset': {
      let budget = Math.floor(Math.random() * 512 * 1024);
      s.on('data', (d: Buffer) => {
        budget -= d.length;
        if (budget < 0) s.resetAndDestroy();
        else s.write(d);
      });
      return;
    }
    case 'vanish': {
      let budget = Math.floor(Math.random() * 256 * 1024);
      s.on('data', (d: Buffer) => {
        budget -= d.length;
        if (budget < 0) s.destroy();
      });
      return;
    }
  }
}
