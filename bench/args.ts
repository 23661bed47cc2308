/** Command-line options of `npm run bench -- [options]`. */
import { ALL_SUBJECTS, type SluiceVariant } from './subjects/index.js';

export const ALL_CASES = ['bulk-1', 'bulk-8', 'rr-50', 'churn-50', 'idle-1000', 'idle-10k', 'slow-consumer'] as const;

export interface Options {
  rounds: number;
  quick: boolean;
  subjects: string[];
  cases: string[];
  /** argv prefix for sluice; null means `node dist/proxy/cli.js`. */
  sluiceCmd: string[] | null;
  sluiceArgs: string[];
  variants: SluiceVariant[];
  outDir: string | null;
  /** Seconds per bulk measurement (iperf3 -t). */
  bulkSeconds: number;
  /** redis-benchmark -n; the built-in echo runs for `rrSeconds` instead. */
  redisRequests: number;
  rrSeconds: number;
  rrConnections: number;
  /** redis-benchmark -n of the churn case (-k 0: one connection per request). */
  churnRequests: number;
  idleConnections: number;
  /** Connections of the large idle case (idle-10k), before the descriptor limit has its say. */
  manyIdleConnections: number;
  slowBytes: number;
  slowRateBytesPerSecond: number;
  /** Write results files (off for exploratory runs that should not replace the committed ones). */
  write: boolean;
  /** Use the built-in load even where iperf3 / redis are installed (to check the fallbacks). */
  builtinLoad: boolean;
  /** Before each measurement, wait up to this long for other processes to go quiet (0: don't). */
  quietWaitSeconds: number;
  noisyRetries: number;
}

export const USAGE = `usage: npm run bench -- [options]

  --rounds N             interleaved rounds per case (default 3; --quick: 1)
  --quick                smoke run: 1 round, short measurements
  --subjects a,b,...     of ${ALL_SUBJECTS.join(', ')} (default all)
  --cases a,b,...        of ${ALL_CASES.join(', ')} (default all)
  --sluice-cmd "CMD"     how to run sluice (default: node dist/proxy/cli.js); env SLUICE_BENCH_CMD
  --sluice-args "ARGS"   appended to every sluice command, e.g. "--window 256KiB"; env SLUICE_BENCH_ARGS
  --variant NAME=ARGS    an extra subject sluice:NAME with ARGS appended (repeatable)
  --bulk-seconds S       seconds per bulk measurement (default 5; --quick: 2)
  --redis-requests N     redis-benchmark -n (default 100000; --quick: 20000)
  --churn-requests N     redis-benchmark -n of churn-50, one connection per request
                         (default 30000; --quick: 10000)
  --slow-mib N           MiB pushed through the slow consumer (default 192; --quick: 64)
  --out DIR              results folder (default bench/results)
  --no-write             print the table only; leave the results files alone
  --builtin-load         use the built-in generators even where iperf3 / redis are installed
  --quiet-wait S         before each measurement wait up to S s for other processes to use
                         under 10% of the CPU (default 10; --quick: 3; 0: don't wait)
  --noisy-retries N      take a measurement again, up to N times, when other processes used
                         more than 15% of the CPU during it (default 1; --quick: 0)
  --help
`;

/** Splits like a shell would for simple cases: whitespace, with '...' and "..." quoting. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

class UsageError extends Error {}

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} needs a whole number > 0, got ${value ?? 'nothing'}`);
  return n;
}

function list(flag: string, value: string | undefined, known: readonly string[]): string[] {
  const items = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag} needs a comma-separated list of ${known.join(', ')}`);
  for (const item of items) if (!known.includes(item)) throw new UsageError(`${flag}: unknown "${item}" (known: ${known.join(', ')})`);
  return items;
}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const quick = argv.includes('--quick');
  const opts: Options = {
    rounds: quick ? 1 : 3,
    quick,
    subjects: [...ALL_SUBJECTS],
    cases: [...ALL_CASES],
    sluiceCmd: env.SLUICE_BENCH_CMD ? splitWords(env.SLUICE_BENCH_CMD) : null,
    sluiceArgs: env.SLUICE_BENCH_ARGS ? splitWords(env.SLUICE_BENCH_ARGS) : [],
    variants: [],
    outDir: null,
    bulkSeconds: quick ? 2 : 5,
    redisRequests: quick ? 20_000 : 100_000,
    rrSeconds: quick ? 2 : 5,
    rrConnections: 50,
    churnRequests: quick ? 10_000 : 30_000,
    idleConnections: 1000,
    manyIdleConnections: 10_000,
    slowBytes: (quick ? 64 : 192) * 1024 * 1024,
    slowRateBytesPerSecond: 48e6,
    write: true,
    builtinLoad: false,
    quietWaitSeconds: quick ? 3 : 10,
    noisyRetries: quick ? 0 : 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case '--quick': break;
      case '--rounds': opts.rounds = positiveInt(flag, value()); break;
      case '--subjects': opts.subjects = list(flag, value(), ALL_SUBJECTS); break;
      case '--cases': opts.cases = list(flag, value(), ALL_CASES); break;
      case '--sluice-cmd': opts.sluiceCmd = splitWords(value() ?? ''); break;
      case '--sluice-args': opts.sluiceArgs = splitWords(value() ?? ''); break;
      case '--variant': {
        const v = value() ?? '';
        const eq = v.indexOf('=');
        if (eq <= 0 || !/^[\w.-]+$/.test(v.slice(0, eq))) throw new UsageError(`--variant needs NAME=ARGS, got "${v}"`);
        opts.variants.push({ name: v.slice(0, eq), extraArgs: splitWords(v.slice(eq + 1)) });
        break;
      }
      case '--bulk-seconds': opts.bulkSeconds = positiveInt(flag, value()); opts.rrSeconds = opts.bulkSeconds; break;
      case '--redis-requests': opts.redisRequests = positiveInt(flag, value()); break;
      case '--churn-requests': opts.churnRequests = positiveInt(flag, value()); break;
      case '--slow-mib': opts.slowBytes = positiveInt(flag, value()) * 1024 * 1024; break;
      case '--out': opts.outDir = value() ?? null; break;
      case '--no-write': opts.write = false; break;
      case '--builtin-load': opts.builtinLoad = true; break;
      case '--noisy-retries': {
        const v = Number(value());
        if (!Number.isSafeInteger(v) || v < 0) throw new UsageError('--noisy-retries needs a whole number >= 0');
        opts.noisyRetries = v;
        break;
      }
      case '--quiet-wait': {
        const v = Number(value());
        if (!Number.isFinite(v) || v < 0) throw new UsageError('--quiet-wait needs seconds >= 0');
        opts.quietWaitSeconds = v;
        break;
      }
      case '--help': case '-h': throw new UsageError('');
      default: throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (opts.sluiceCmd !== null && opts.sluiceCmd.length === 0) throw new UsageError('--sluice-cmd needs a command');
  return opts;
}

export { UsageError };
