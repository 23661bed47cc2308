/**
 * The things measured ("subjects"): each one, started fresh for every measurement, listens on
 * loopback and forwards to the case's server.
 *
 *   load tool --> subject (direct | pipe | haproxy | socat | sluice | sluice-tunnel) --> case server
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, spawnTracked, stopProcess, waitForLine, waitForListening } from './processes.js';
import type { Tools } from './tools.js';

export interface Address {
  host: string;
  port: number;
}

export interface RunningSubject {
  name: string;
  address: Address;
  /** Processes whose memory and CPU count as the subject's; empty for `direct`. */
  pids: number[];
  stop(): Promise<void>;
}

export interface Subject {
  name: string;
  /** One line for the table and the results file. */
  describe: string;
  /** Why it cannot run on this machine, or null when it can. */
  unavailable: string | null;
  start(target: Address): Promise<RunningSubject>;
}

export interface SluiceCommand {
  /** argv prefix, e.g. ['node', 'dist/proxy/cli.js']. */
  command: string[];
  /** Extra options appended to every sluice invocation, e.g. ['--window', '256KiB']. */
  extraArgs: string[];
}

/** A sluice variant to compare in the same run: `--variant NAME=ARGS`. */
export interface SluiceVariant {
  name: string;
  extraArgs: string[];
}

const START_TIMEOUT_MS = 10_000;
const READY_LINE = /listening on \[?([^\]\s]+?)\]?:(\d+)\s*$/;

const hostPort = (a: Address): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => stopProcess(c)));
}

/** Starts a process that prints "... listening on HOST:PORT" when ready. */
async function startAnnouncing(argv: string[], label: string): Promise<{ child: ChildProcess; address: Address }> {
  const child = spawnTracked(argv[0]!, argv.slice(1));
  try {
    const match = await waitForLine(child, READY_LINE, START_TIMEOUT_MS, '"... listening on HOST:PORT"');
    return { child, address: { host: match[1]!, port: Number(match[2]) } };
  } catch (err) {
    await stopProcess(child, 200);
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

function running(name: string, address: Address, children: ChildProcess[]): RunningSubject {
  return { name, address, pids: children.map((c) => c.pid!), stop: () => stopAll(children) };
}

function direct(): Subject {
  return {
    name: 'direct',
    describe: 'no proxy: the load tool talks to the server',
    unavailable: null,
    start: async (target) => ({ name: 'direct', address: target, pids: [], stop: async () => {} }),
  };
}

function pipe(distDir: string): Subject {
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

function haproxy(tools: Tools, tmpDir: () => string): Subject {
  return {
    name: 'haproxy',
    describe: `HAProxy ${tools.haproxy.version ?? '?'} mode tcp, defaults`,
    unavailable: tools.haproxy.path ? null : 'haproxy not installed (bench/install-tools.sh)',
    async start(target) {
      const port = await freePort();
      const config = path.join(tmpDir(), `haproxy-${port}.cfg`);
      writeFileSync(config, haproxyConfig(port, target));
      // -db: stay in the foreground so the bench owns the process.
      const child = spawnTracked(tools.haproxy.path!, ['-db', '-f', config]);
      try {
        await waitForListening(child, port, START_TIMEOUT_MS);
      } catch (err) {
        await stopProcess(child, 200);
        throw new Error(`haproxy: ${(err as Error).message}`);
      }
      return running('haproxy', { host: '127.0.0.1', port }, [child]);
    },
  };
}

function socat(tools: Tools): Subject {
  return {
    name: 'socat',
    describe: `socat ${tools.socat.version ?? '?'} TCP-LISTEN fork (one process per connection)`,
    unavailable: tools.socat.path ? null : 'socat not installed (bench/install-tools.sh)',
    async start(target) {
      const port = await freePort();
      // backlog=511 matches Node's listen default; socat's own default of 5 would drop SYNs in
      // the 1000-connection case and measure the queue, not the relay.
      const child = spawnTracked(tools.socat.path!, [
        `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=511`,
        `TCP:${hostPort(target)}`,
      ]);
      try {
        await waitForListening(child, port, START_TIMEOUT_MS);
      } catch (err) {
        await stopProcess(child, 200);
        throw new Error(`socat: ${(err as Error).message}`);
      }
      return running('socat', { host: '127.0.0.1', port }, [child]);
    },
  };
}

function sluiceRelay(name: string, sluice: SluiceCommand, extraArgs: string[], unavailable: string | null): Subject {
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
function sluiceTunnel(sluice: SluiceCommand, unavailable: string | null): Subject {
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

export const ALL_SUBJECTS = ['direct', 'pipe', 'haproxy', 'socat', 'sluice', 'sluice-tunnel'] as const;

export interface SubjectOptions {
  names: string[];
  distDir: string;
  sluice: SluiceCommand;
  /** True when the sluice command was given explicitly, so its existence is not checked. */
  sluiceCustom: boolean;
  variants: SluiceVariant[];
}

/** Builds the subjects that were asked for, in the order asked; variants follow `sluice`. */
export function buildSubjects(options: SubjectOptions, tools: Tools): { subjects: Subject[]; cleanup: () => void } {
  let tmp: string | null = null;
  const tmpDir = (): string => (tmp ??= mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-')));
  const cli = path.join(options.distDir, 'proxy', 'cli.js');
  const sluiceMissing =
    options.sluiceCustom || existsSync(cli)
      ? null
      : `${path.relative(process.cwd(), cli)} does not exist yet (relay not merged); use --sluice-cmd to point at one`;

  const subjects: Subject[] = [];
  for (const name of options.names) {
    switch (name) {
      case 'direct': subjects.push(direct()); break;
      case 'pipe': subjects.push(pipe(options.distDir)); break;
      case 'haproxy': subjects.push(haproxy(tools, tmpDir)); break;
      case 'socat': subjects.push(socat(tools)); break;
      case 'sluice':
        subjects.push(sluiceRelay('sluice', options.sluice, [], sluiceMissing));
        for (const v of options.variants) subjects.push(sluiceRelay(`sluice:${v.name}`, options.sluice, v.extraArgs, sluiceMissing));
        break;
      case 'sluice-tunnel': subjects.push(sluiceTunnel(options.sluice, sluiceMissing)); break;
      default: throw new Error(`unknown subject "${name}" (known: ${ALL_SUBJECTS.join(', ')})`);
    }
  }
  return {
    subjects,
    cleanup: () => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}
