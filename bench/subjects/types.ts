/** What every subject is: something started fresh per measurement that forwards to a target. */

export interface Address {
  host: string;
  port: number;
}

export interface RunningSubject {
  name: string;
  address: Address;
  /** Processes whose memory and CPU count as the subject's; empty for `direct`. */
  pids: number[];
  /** How a subject process ended before it was stopped (a crash), or null while all run. */
  exited(): string | null;
  stop(): Promise<void>;
}

/** The most connections a subject holds at once, when it has such a limit, and where it comes from. */
export interface ConnectionLimit {
  count: number;
  /** The settings that make it, e.g. `1 link x --max-streams 1000, the default`. */
  why: string;
}

export interface Subject {
  name: string;
  /** One line for the table and the results file. */
  describe: string;
  /** Why it cannot run on this machine, or null when it can. */
  unavailable: string | null;
  /** Measured only in cases where the access log's cost shows (`sluice:quiet`, added by default). */
  onlyWhereAccessLogMatters?: boolean;
  /** Measured only in cases about what a connection costs (the floor relay, which never holds a producer back). */
  onlyWhereConnectionCostMatters?: boolean;
  /** A documented limit on connections held at once (the tunnel's streams); cases needing more skip it and say why. */
  connectionLimit?: ConnectionLimit;
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

/** HOST:PORT as the command lines of sluice, HAProxy and socat want it (IPv6 in brackets). */
export const hostPort = (a: Address): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
