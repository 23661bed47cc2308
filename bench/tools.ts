/**
 * Which external tools this machine has, and their versions for the results file.
 * `bench/install-tools.sh` installs them; the bench runs without any of them and says what it
 * skipped.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';

export interface Tool {
  /** Absolute path, or null when the tool is not installed. */
  path: string | null;
  version: string | null;
}

export interface Tools {
  haproxy: Tool;
  socat: Tool;
  iperf3: Tool;
  redisServer: Tool;
  redisBenchmark: Tool;
}

function capture(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => {
      if (err && !stdout && !stderr) resolve(null);
      else resolve(`${stdout}\n${stderr}`);
    });
  });
}

async function find(name: string, versionArgs: string[], versionPattern: RegExp): Promise<Tool> {
  const where = await capture('sh', ['-c', `command -v ${name}`]);
  const path = where?.trim().split('\n')[0] || null;
  if (!path) return { path: null, version: null };
  const out = await capture(path, versionArgs);
  return { path, version: out?.match(versionPattern)?.[1] ?? 'unknown' };
}

export async function detectTools(): Promise<Tools> {
  const [haproxy, socat, iperf3, redisServer, redisBenchmark] = await Promise.all([
    find('haproxy', ['-v'], /HA-?Proxy version (\S+)/i),
    find('socat', ['-V'], /socat version (\S+)/),
    find('iperf3', ['--version'], /iperf (\S+)/),
    find('redis-server', ['--version'], /v=(\S+)/),
    find('redis-benchmark', ['--version'], /redis-benchmark (\S+)/),
  ]);
  return { haproxy, socat, iperf3, redisServer, redisBenchmark };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  node: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}
