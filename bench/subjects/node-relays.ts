/** The subjects that are Node processes: the pipe() baseline, the floor relay and sluice itself. */
import { existsSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import path from 'node:path';
import { stopProcess } from '../../scenarios/harness/processes.js';
import { running, startAnnouncing } from './launch.js';
import { tunnelConnectionLimit } from './tunnel-capacity.js';
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

/** `bench/baselines/floor-relay.ts`: Node's floor per connection (raw handles, the least bookkeeping), churn only. */
export function floor(distDir: string): Subject {
  const script = path.join(distDir, 'bench', 'baselines', 'floor-relay.js');
  return {
    name: 'floor',
    describe: `node ${process.version} on raw TCP handles: a table entry, byte counts, reset probe, access log; nothing else`,
    unavailable: process.platform !== 'linux' ? 'Linux only (the reset probe)' : existsSync(script) ? null : `${script} is missing (build first)`,
    onlyWhereConnectionCostMatters: true,
    async start(target) {
      const { child, address } = await startAnnouncing(
        [process.execPath, script, '--listen', '127.0.0.1:0', '--target', hostPort(target)],
        'floor relay',
      );
      return running('floor', address, [child]);
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
    connectionLimit: tunnelConnectionLimit(sluice.extraArgs),
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

/**
 * `sluice serve` running the same relay as one proxy of its config file: what a proxy costs when
 * it is one of many in a process steered by the control API (the API answers where it listens).
 */
export function sluiceServe(sluice: SluiceCommand, tmpDir: () => string, unavailable: string | null): Subject {
  return {
    name: 'sluice-serve',
    describe: `sluice serve (one proxy) ${sluice.extraArgs.join(' ')}`.trim(),
    unavailable,
    async start(target) {
      const config = path.join(tmpDir(), `serve-${process.pid}-${Date.now()}.json`);
      writeFileSync(config, JSON.stringify({ proxies: [{ name: 'bench', listen: '127.0.0.1:0', upstream: hostPort(target) }] }));
      const { child, address: api } = await startAnnouncing([...sluice.command, 'serve', '--config', config, '--api', '127.0.0.1:0', ...sluice.extraArgs], 'sluice serve');
      try {
        const listen = await proxyListen(api.port);
        return running('sluice-serve', { host: '127.0.0.1', port: Number(listen.slice(listen.lastIndexOf(':') + 1)) }, [child]);
      } catch (err) {
        await stopProcess(child, 200);
        throw err;
      }
    },
  };
}

function proxyListen(apiPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: apiPort, path: '/proxies/bench', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        try {
          resolve((JSON.parse(body) as { listen: string }).listen);
        } catch (err) {
          reject(err as Error);
        }
      });
    }).on('error', reject);
  });
}
