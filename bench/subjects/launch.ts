/** Starting a subject's processes and knowing when they are ready. */
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stderrTail, stopProcess, waitForLine, waitForListening } from '../../scenarios/harness/processes.js';
import type { Address, RunningSubject } from './types.js';

const START_TIMEOUT_MS = 10_000;
/** sluice's contract (`sluice relay listening on HOST:PORT`), which the pipe relay copies. */
const READY_LINE = /listening on \[?([^\]\s]+?)\]?:(\d+)\s*$/;

/** Starts a process that prints "... listening on HOST:PORT" when ready. */
export async function startAnnouncing(argv: string[], label: string): Promise<{ child: ChildProcess; address: Address }> {
  const child = spawnTracked(argv[0]!, argv.slice(1));
  try {
    const match = await waitForLine(child, READY_LINE, START_TIMEOUT_MS, '"... listening on HOST:PORT"');
    return { child, address: { host: match[1]!, port: Number(match[2]) } };
  } catch (err) {
    await stopProcess(child, 200);
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

/** Starts a process that announces nothing (HAProxy, socat) and waits for its listening socket. */
export async function startOnPort(argv: string[], port: number, label: string): Promise<ChildProcess> {
  const child = spawnTracked(argv[0]!, argv.slice(1));
  try {
    await waitForListening(child, port, START_TIMEOUT_MS);
    return child;
  } catch (err) {
    await stopProcess(child, 200);
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

export function running(name: string, address: Address, children: ChildProcess[]): RunningSubject {
  return {
    name,
    address,
    pids: children.map((c) => c.pid!),
    exited: () => {
      const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (!dead) return null;
      return `${name} (pid ${dead.pid}) exited with ${dead.exitCode ?? dead.signalCode}: ${stderrTail(dead).slice(-300) || '(no stderr)'}`;
    },
    stop: async () => {
      await Promise.all(children.map((c) => stopProcess(c)));
    },
  };
}
