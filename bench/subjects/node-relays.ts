/** The subjects that are Node processes: the pipe() baseline and sluice itself. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stopProcess } from '../../scenarios/harness/processes.js';
import { running, startAnnouncing } from './launch.js';
import { hostPort, type SluiceCommand, type Subject } from './types.js';

/** `bench/baselines/pipe-relay.ts`, the relay every sluice figure is compared with. */
export function pipe(distDir: string): Subject {
  const script = path.join(distDir, 'bench', 'baselines', 'pipe-relay.js');
  return {
    name: 'pipe',
    describe: `node ${process.version} client.pipe(target); target.pipe(client)`,
    unavailable: existsSync(script) ? null : `${script} is missing (build first)`,
    async start(target) {
      const { child, address } = await startAnnouncing(
        [process.execPath, script, '--listen', '127.0.0.1:0', '--target', hostPort(target)],
        'pipe relay',
      );
      return running('pipe', address, [child]);
    },
  };
}

/** `sluice relay`, with the run's extra arguments and a variant's own. */
export function sluiceRelay(name: string, sluice: SluiceCommand, extraArgs: string[], unavailable: string | null): Subject {
  const args = [...sluice.extraArgs, ...extraArgs];
  return {
    name,
    describe: `sluice relay ${args.join(' ')}`.trim(),
    unavailable,
    async start(target) {
      const { child, address } = await startAnnouncing(
        [...sluice.command, 'relay', '--listen', '127.0.0.1:0', '--target', hostPort(target), ...args],
        name,
      );
      return running(name, address, [child]);
    },
  };
}

/** tunnel-client and tunnel-server back to back: plain TCP in, framed across, plain TCP out. */
export function sluiceTunnel(sluice: SluiceCommand, unavailable: string | null): Subject {
  return {
    name: 'sluice-tunnel',
    describe: `sluice tunnel-client -> tunnel-server ${sluice.extraArgs.join(' ')}`.trim(),
    unavailable,
    async start(target) {
      const server = await startAnnouncing(
        [...sluice.command, 'tunnel-server', '--listen', '127.0.0.1:0', '--target', hostPort(target), ...sluice.extraArgs],
        'sluice tunnel-server',
      );
      try {
        const client = await startAnnouncing(
          [...sluice.command, 'tunnel-client', '--listen', '127.0.0.1:0', '--server', hostPort(server.address), ...sluice.extraArgs],
          'sluice tunnel-client',
        );
        return running('sluice-tunnel', client.address, [client.child, server.child]);
      } catch (err) {
        await stopProcess(server.child, 200);
        throw err;
      }
    },
  };
}
