import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path to the built CLI (dist/proxy/cli.js), from dist/test/helpers. */
export const CLI_PATH = fileURLToPath(new URL('../../proxy/cli.js', import.meta.url));

/** A running `sluice` process with its output collected. */
export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Stops it (SIGKILL) if still running and waits for the exit. */
  kill(): Promise<void>;
}

/** Starts `node dist/proxy/cli.js ...args`. */
export function startCli(args: string[]): RunningCli {
  return startNode(CLI_PATH, args);
}

/** Starts `node script ...args` with its output collected. */
export function startNode(script: string, args: string[]): RunningCli {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs the CLI to completion (or until `deadlineMs`, see `runNode`). */
export function runCli(args: string[], deadlineMs?: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return runNode(CLI_PATH, args, deadlineMs);
}

/**
 * Runs `node script ...args` to completion. With `deadlineMs`, a process still running then is
 * killed (code `'SIGKILL'`), so a hang fails the test instead of outliving it at full CPU.
 */
export async function runNode(script: string, args: string[], deadlineMs?: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = startNode(script, args);
  const deadline = deadlineMs === undefined ? null : setTimeout(() => run.child.kill('SIGKILL'), deadlineMs);
  const code = await run.exited;
  if (deadline !== null) clearTimeout(deadline);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Waits for the `sluice <command> listening on HOST:PORT` line and returns the port. */
export async function readyPort(cli: RunningCli, command: string): Promise<number> {
  const pattern = new RegExp(`^sluice ${command} listening on (?:\\[[^\\]]+\\]|[^:\\s]+):(\\d+)$`, 'm');
  for (;;) {
    const m = pattern.exec(cli.stdout());
    if (m) return Number(m[1]);
    const stillRunning = await Promise.race([
      new Promise<boolean>((r) => cli.child.stdout!.once('data', () => r(true))),
      cli.exited.then(() => false),
    ]);
    if (!stillRunning) throw new Error(`sluice ${command} exited before it was ready:\n${cli.stderr()}`);
  }
}

// A usage error is found before anything is served: well under mocha's 20 s, even on a loaded machine.
const USAGE_ERROR_DEADLINE_MS = 15_000;

/**
 * Runs the CLI and expects a usage error: exit 2, nothing on stdout, one line on stderr matching
 * `message`. A CLI that has not exited within 15 s is killed and fails the test.
 */
export async function expectUsageError(args: string[], message: RegExp): Promise<void> {
  const { code, stdout, stderr } = await runCli(args, USAGE_ERROR_DEADLINE_MS);
  expect(code, code === 'SIGKILL' ? `still running after ${USAGE_ERROR_DEADLINE_MS / 1000} s, killed` : 'exit code').to.equal(2);
  expect(stdout).to.equal('');
  expect(stderr.trimEnd().split('\n')).to.have.length(1);
  expect(stderr).to.match(message);
}
