/**
 * `npm run bench`: every case against every subject, interleaved (ABCD ABCD ABCD), each subject
 * started fresh per measurement; medians and same-run ratios to the pipe relay and HAProxy.
 *
 *   for case in cases:                 (one server per case: iperf3 -s, redis-server, built-ins)
 *     for round in 1..N:
 *       for subject in subjects:       (direct, pipe, haproxy, socat, sluice, ...)
 *         start subject -> measure through it -> stop it
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, UsageError, type Options } from './args.js';
import { bulkCase } from './cases/bulk.js';
import { churnCase } from './cases/churn.js';
import { fdLimits, idleConnectionsWithin, relaunchWithRaisedLimit } from './fd-limit.js';
import { idleConnsCase } from './cases/idle-conns.js';
import { requestRateCase } from './cases/request-rate.js';
import { slowConsumerCase } from './cases/slow-consumer.js';
import type { BenchCase } from './cases/types.js';
import { installCleanupHandlers } from '../scenarios/harness/processes.js';
import { renderMarkdown } from './report/markdown.js';
import { renderSvg } from './report/svg.js';
import { renderTable } from './report/table.js';
import type { CaseResult, Results } from './results.js';
import { runCase } from './run-case.js';
import { buildSubjects } from './subjects/index.js';
import { evaluateTargets } from './targets.js';
import { detectTools, machineInfo, type Tools } from './tools.js';

const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.resolve(distDir, '..');

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

function buildCases(opts: Options, tools: Tools): BenchCase[] {
  const all: Record<string, () => BenchCase> = {
    'bulk-1': () => bulkCase(1, opts.bulkSeconds, tools),
    'bulk-8': () => bulkCase(8, opts.bulkSeconds, tools),
    'rr-50': () => requestRateCase({ connections: opts.rrConnections, redisRequests: opts.redisRequests, echoSeconds: opts.rrSeconds }, tools),
    'churn-50': () => churnCase({ connections: 50, redisRequests: opts.churnRequests, seconds: opts.rrSeconds }, tools),
    'idle-1000': () => idleConnsCase(opts.idleConnections),
    'idle-10k': () => manyIdleCase(opts.manyIdleConnections),
    'slow-consumer': () => slowConsumerCase(opts.slowBytes, opts.slowRateBytesPerSecond),
  };
  return opts.cases.map((id) => all[id]!());
}

/** idle-10k: as many of the connections as the descriptor limit lets a relay hold; socat (a process per connection) left out. */
function manyIdleCase(wanted: number): BenchCase {
  const { soft, hard } = fdLimits();
  const count = idleConnectionsWithin(soft, wanted);
  const limitedBy = `ulimit -n ${soft}, hard ${hard}: a relay holds 2 descriptors per connection and sluice keeps 5% in reserve`;
  if (count < wanted) log(`idle-10k: ${limitedBy}; opening ${count} connections and scaling RSS to ${wanted}`);
  return idleConnsCase(count, { id: 'idle-10k', nominal: wanted, limitedBy, skip: { socat: `forks a process per connection (${wanted} processes)` } });
}

function writeResults(results: Results, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'results.svg'), renderSvg(results));
  writeFileSync(path.join(outDir, 'results.md'), renderMarkdown(results));
  log(`\nwrote ${path.relative(process.cwd(), outDir) || '.'}/results.{json,svg,md}`);
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) process.stderr.write(`bench: ${err.message}\n`);
    process.stderr.write(USAGE);
    return err.message ? 2 : 0;
  }
  if (opts.cases.includes('idle-10k')) {
    const relaunched = relaunchWithRaisedLimit(log);
    if (relaunched) return relaunched;
  }
  installCleanupHandlers();
  const started = performance.now();
  const machine = machineInfo();
  const tools = await detectTools();
  const loadTools: Tools = opts.builtinLoad
    ? { ...tools, iperf3: { path: null, version: null }, redisBenchmark: { path: null, version: null } }
    : tools;
  const { subjects, cleanup } = buildSubjects(
    {
      names: opts.subjects,
      distDir,
      sluice: { command: opts.sluiceCmd ?? [process.execPath, path.join(distDir, 'proxy', 'cli.js')], extraArgs: opts.sluiceArgs },
      sluiceCustom: opts.sluiceCmd !== null,
      variants: opts.variants,
    },
    tools,
  );
  try {
    const disabled = new Map<string, string>();
    for (const s of subjects) {
      if (s.unavailable) {
        disabled.set(s.name, s.unavailable);
        log(`skipping ${s.name}: ${s.unavailable}`);
      }
    }
    for (const [name, tool] of [['iperf3', tools.iperf3], ['redis-server', tools.redisServer], ['redis-benchmark', tools.redisBenchmark]] as const) {
      if (!tool.path) log(`${name} not installed: using the built-in load instead (bench/install-tools.sh installs it)`);
    }
    if (opts.builtinLoad) log('--builtin-load: built-in generators instead of iperf3 and redis-benchmark');

    const cases: CaseResult[] = [];
    for (const c of buildCases(opts, loadTools)) cases.push(await runCase(c, subjects, disabled, { rounds: opts.rounds, quietWaitSeconds: opts.quietWaitSeconds, noisyRetries: opts.noisyRetries }));

    const names = subjects.map((s) => s.name);
    const results: Results = {
      machine,
      tools,
      options: { ...opts },
      subjects: subjects.map((s) => ({ name: s.name, describe: s.describe, ...(disabled.has(s.name) ? { skipped: disabled.get(s.name)! } : {}) })),
      cases,
      targets: evaluateTargets(cases, names),
      durationSeconds: (performance.now() - started) / 1000,
    };
    process.stdout.write(`\n${renderTable(results)}\n`);
    if (opts.write) writeResults(results, opts.outDir ?? path.join(repoDir, 'bench', 'results', opts.quick ? 'quick' : ''));
    const failures = cases.flatMap((c) => c.samples).filter((s) => s.error).length;
    return failures > 0 ? 1 : 0;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
