/**
 * `npm run checks`: the acceptance checks that are also run from outside the repo, against the
 * built CLI, one scenario per issue, one line per check:
 *
 *   PASS  relay/slow-consumer  MiB=192 sha256=ok ... growthMB=12.3  | need: ... <= 48 MB
 *
 * Exit code 0 when no check failed (SKIPPED does not fail the run unless --strict), 1 when one
 * did, 2 on a usage error. Every process a scenario starts is stopped after it, on error and on
 * Ctrl-C.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitWords } from '../args.js';
import { installCleanupHandlers } from '../../scenarios/harness/processes.js';
import { machineInfo } from '../tools.js';
import { adaptiveScenario } from './adaptive.js';
import { floodScenario } from './flood.js';
import { managementScenario } from './management.js';
import { messagesScenario } from './messages.js';
import { relayScenario } from './relay.js';
import { Scope, scoped } from '../../scenarios/harness/scope.js';
import { SLUICE_CLI } from '../../scenarios/harness/sluice.js';
import { now } from '../../scenarios/harness/sockets.js';
import { round } from './support.js';
import { tunnelScenario } from './tunnel.js';
import type { CheckLine, Scenario } from './types.js';

const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoDir = path.resolve(distDir, '..');
const DEFAULT_JSON = path.join(repoDir, 'bench', 'results', 'checks.json');

const SCENARIOS: Scenario[] = [relayScenario, messagesScenario, adaptiveScenario, floodScenario, managementScenario, tunnelScenario];

const USAGE = `usage: npm run checks -- [options]

  --only a,b,...     run only these scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
  --repeat N         run the selection N times and summarise each figure as min..max (default 1)
  --json [PATH]      also write the results as JSON (default path bench/results/checks.json)
  --strict           a SKIPPED check fails the run too
  --sluice-cmd "CMD" how to run sluice (default: node dist/proxy/cli.js); env SLUICE_CHECKS_CMD
  --list             print the scenarios and their checks, run nothing
  --help
`;

interface Options {
  only: string[];
  repeat: number;
  json: string | null;
  strict: boolean;
  sluice: string[];
  list: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const known = SCENARIOS.map((s) => s.name);
  const envCmd = process.env.SLUICE_CHECKS_CMD;
  const opts: Options = {
    only: known,
    repeat: 1,
    json: null,
    strict: false,
    sluice: envCmd ? splitWords(envCmd) : [...SLUICE_CLI],
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--only': {
        const items = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const item of items) if (!known.includes(item)) throw new UsageError(`--only: unknown scenario "${item}" (known: ${known.join(', ')})`);
        if (items.length === 0) throw new UsageError('--only needs a comma-separated list of scenarios');
        opts.only = items;
        break;
      }
      case '--repeat': {
        const n = Number(value());
        if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--repeat needs a whole number > 0`);
        opts.repeat = n;
        break;
      }
      case '--json':
        if (inline !== undefined) opts.json = path.resolve(inline);
        else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) opts.json = path.resolve(argv[++i]!);
        else opts.json = DEFAULT_JSON;
        break;
      case '--strict': opts.strict = true; break;
      case '--sluice-cmd': opts.sluice = splitWords(value()); break;
      case '--list': opts.list = true; break;
      case '--help': case '-h': throw new UsageError('');
      default: throw new UsageError(`unknown option ${arg}`);
    }
  }
  return opts;
}

const log = (message: string): void => void process.stderr.write(`  .. ${message}\n`);

/** One line of text, at most `max` characters: a child's stack trace must not flood the table. */
function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

function formatLine(line: CheckLine): string {
  const figures = Object.entries(line.figures).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const head = `${line.status.padEnd(7)} ${line.name.padEnd(24)} ${figures}`.trimEnd();
  const reasons = line.reasons.map((r) => `\n${' '.repeat(8)}- ${oneLine(r)}`).join('');
  return `${head}\n${' '.repeat(8)}need: ${line.threshold}${reasons}`;
}

async function runScenario(scenario: Scenario, sluice: string[]): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const report = (line: CheckLine): void => {
    lines.push(line);
    process.stdout.write(`${formatLine(line)}\n`);
  };
  const failUnreported = (names: string[], err: unknown): void => {
    const message = (err as Error)?.message ?? String(err);
    for (const name of names) {
      if (!lines.some((l) => l.name === name)) report({ name, status: 'FAIL', figures: {}, threshold: '(not measured)', reasons: [`stopped before a verdict: ${message}`] });
    }
  };
  const scope = new Scope();
  const started = now();
  try {
    await scenario.run({
      sluice,
      scope,
      log,
      report,
      async attempt(name, fn) {
        try {
          await scoped(fn);
        } catch (err) {
          failUnreported([name], err);
        }
      },
    });
  } catch (err) {
    failUnreported(scenario.lines, err);
  } finally {
    await scope.close();
  }
  log(`${scenario.name} (${scenario.issue}) took ${round((now() - started) / 1000)} s`);
  return lines;
}

/** Per line name over all runs: status counts and each numeric figure's min..max. */
function summarise(runs: CheckLine[][]): Record<string, { statuses: Record<string, number>; figures: Record<string, { min: number; max: number } | string[]> }> {
  const out: Record<string, { statuses: Record<string, number>; figures: Record<string, { min: number; max: number } | string[]> }> = {};
  for (const line of runs.flat()) {
    const entry = (out[line.name] ??= { statuses: {}, figures: {} });
    entry.statuses[line.status] = (entry.statuses[line.status] ?? 0) + 1;
    for (const [key, value] of Object.entries(line.figures)) {
      const prev = entry.figures[key];
      if (typeof value === 'number' && (prev === undefined || !Array.isArray(prev))) {
        entry.figures[key] = prev === undefined ? { min: value, max: value } : { min: Math.min(prev.min, value), max: Math.max(prev.max, value) };
      } else {
        const list = Array.isArray(prev) ? prev : prev === undefined ? [] : [`${prev.min}..${prev.max}`];
        if (!list.includes(String(value))) list.push(String(value));
        entry.figures[key] = list;
      }
    }
  }
  return out;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) process.stderr.write(`checks: ${err.message}\n`);
    process.stderr.write(USAGE);
    return err.message ? 2 : 0;
  }
  const selected = SCENARIOS.filter((s) => opts.only.includes(s.name));
  if (opts.list) {
    for (const s of selected) process.stdout.write(`${s.name} (${s.issue}): ${s.lines.join(', ')}\n`);
    return 0;
  }
  const cli = opts.sluice[opts.sluice.length - 1]!;
  if (!process.env.SLUICE_CHECKS_CMD && opts.sluice[0] === process.execPath && !existsSync(cli)) {
    process.stderr.write(`checks: ${path.relative(process.cwd(), cli)} does not exist: build first (npm run build)\n`);
    return 2;
  }
  installCleanupHandlers();
  const started = now();
  const runs: CheckLine[][] = [];
  for (let r = 1; r <= opts.repeat; r++) {
    if (opts.repeat > 1) process.stdout.write(`\n# run ${r} of ${opts.repeat}\n`);
    const lines: CheckLine[] = [];
    for (const scenario of selected) lines.push(...(await runScenario(scenario, opts.sluice)));
    runs.push(lines);
  }

  const all = runs.flat();
  const count = (status: string): number => all.filter((l) => l.status === status).length;
  const summary = summarise(runs);
  if (opts.repeat > 1) {
    process.stdout.write(`\n# over ${opts.repeat} runs\n`);
    for (const [name, entry] of Object.entries(summary)) {
      const statuses = Object.entries(entry.statuses).map(([s, n]) => `${s} ${n}`).join(', ');
      const figures = Object.entries(entry.figures)
        .map(([k, v]) => (Array.isArray(v) ? `${k}=${v.join('|')}` : v.min === v.max ? `${k}=${v.min}` : `${k}=${v.min}..${v.max}`))
        .join(' ');
      const reasons = [...new Set(runs.flat().filter((l) => l.name === name && l.status !== 'PASS').flatMap((l) => l.reasons.map((r) => oneLine(r, 200))))];
      const detail = [figures, ...reasons.map((r) => `- ${r}`)].filter(Boolean).join(`\n${' '.repeat(8)}`);
      process.stdout.write(`${name.padEnd(24)} ${statuses}\n${' '.repeat(8)}${detail}\n`);
    }
  }
  const seconds = (now() - started) / 1000;
  process.stdout.write(`\nchecks: ${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIPPED')} skipped in ${round(seconds)} s\n`);

  if (opts.json) {
    mkdirSync(path.dirname(opts.json), { recursive: true });
    // Paths inside the checkout relative to it, so the file reads the same on every machine.
    const sluice = opts.sluice.map((a) => (a.startsWith(`${repoDir}${path.sep}`) ? path.relative(repoDir, a) : a === process.execPath ? 'node' : a));
    const results = { machine: machineInfo(), sluice, repeat: opts.repeat, durationSeconds: round(seconds), runs, summary };
    writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
    process.stderr.write(`wrote ${path.relative(process.cwd(), opts.json) || opts.json}\n`);
  }
  if (count('FAIL') > 0) return 1;
  if (opts.strict && count('SKIPPED') > 0) return 1;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`checks: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
