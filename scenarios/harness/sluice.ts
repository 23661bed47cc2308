/**
 * The built CLI as a process: `sluice relay`, `sluice tunnel-client`, `sluice tunnel-server`, each
 * on 127.0.0.1:0, ready once its ready line (`sluice COMMAND listening on HOST:PORT`, DESIGN.md's
 * contract) is on stdout. Every process belongs to a Scope, which stops it.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTracked, stderrTail, waitForLine } from './processes.js';
import type { Scope } from './scope.js';
import { delay, KiB, now } from './sockets.js';

/** argv prefix that runs this checkout's built CLI: node dist/proxy/cli.js. */
export const SLUICE_CLI: readonly string[] = [process.execPath, fileURLToPath(new URL('../../proxy/cli.js', import.meta.url))];

export type SluiceCommand = 'relay' | 'tunnel-client' | 'tunnel-server';

/** A running sluice process. */
export interface RunningSluice {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Port of `--metrics` (/metrics, /healthz) when asked for. */
  metricsPort: number | null;
  /** Port of `--agent` when asked for. */
  agentPort: number | null;
  alive(): boolean;
  /** Everything it wrote to stderr so far (the last 256 KiB). */
  stderr(): string;
}

const METRICS = /metrics on http:\/\/[^\s/]*:(\d+)\/metrics/;
const AGENT = /agent checks on \S*:(\d+)/;
const START_TIMEOUT_MS = 10_000;

/**
 * Starts `sluice COMMAND --listen 127.0.0.1:0 ...args`; with `metrics` / `agent`, also
 * `--metrics 127.0.0.1:0` / `--agent 127.0.0.1:0`, whose real ports are read from the log lines on
 * stderr. `sluice` is the argv prefix that runs the CLI (default: this checkout's build).
 */
export async function startSluice(
  scope: Scope,
  command: SluiceCommand,
  args: string[],
  opts: { sluice?: readonly string[]; metrics?: boolean; agent?: boolean } = {},
): Promise<RunningSluice> {
  const argv = [...(opts.sluice ?? SLUICE_CLI), command, '--listen', '127.0.0.1:0', ...args];
  if (opts.metrics) argv.push('--metrics', '127.0.0.1:0');
  if (opts.agent) argv.push('--agent', '127.0.0.1:0');
  const child = scope.child(spawnTracked(argv[0]!, argv.slice(1)));
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString('utf8')).slice(-256 * KiB);
  });
  const readyLine = new RegExp(`^sluice ${command} listening on (?:\\[[^\\]]+\\]|[^:\\s]+):(\\d+)\\s*$`);
  const ready = await waitForLine(child, readyLine, START_TIMEOUT_MS, `"sluice ${command} listening on HOST:PORT"`);
  const fromStderr = async (pattern: RegExp, what: string): Promise<number> => {
    const deadline = now() + START_TIMEOUT_MS;
    for (;;) {
      const m = pattern.exec(err);
      if (m) return Number(m[1]);
      if (child.exitCode !== null || now() > deadline) throw new Error(`sluice ${command}: no "${what}" line on stderr: ${stderrTail(child)}`);
      await delay(10);
    }
  };
  return {
    child,
    pid: child.pid!,
    port: Number(ready[1]),
    metricsPort: opts.metrics ? await fromStderr(METRICS, 'metrics on http://HOST:PORT/metrics') : null,
    agentPort: opts.agent ? await fromStderr(AGENT, 'agent checks on HOST:PORT') : null,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => err,
  };
}

/** `sluice relay --listen 127.0.0.1:0 --target 127.0.0.1:TARGET ...args`. */
export function startRelay(scope: Scope, sluice: readonly string[], targetPort: number, args: string[], opts: { metrics?: boolean; agent?: boolean } = {}): Promise<RunningSluice> {
  return startSluice(scope, 'relay', ['--target', `127.0.0.1:${targetPort}`, ...args], { ...opts, sluice });
}

/** `sluice tunnel-server --target 127.0.0.1:TARGET` or `sluice tunnel-client --server HOST:PORT`, `--quiet`, plus `args`. */
export function startTunnelSidecar(scope: Scope, sluice: readonly string[], command: 'tunnel-server' | 'tunnel-client', args: string[]): Promise<RunningSluice> {
  return startSluice(scope, command, ['--quiet', ...args], { sluice });
}
