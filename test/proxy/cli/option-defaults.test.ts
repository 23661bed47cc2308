import { expect } from 'chai';
import { parseToxicSpec, toxicObjectFromFlag } from '../../../proxy/stages/toxics/index.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseOptions, type OptionSpec, type ParsedOptions } from '../../../proxy/options/parse.js';
import type { Command } from '../../../proxy/cli/command.js';
import { demoCommand } from '../../../proxy/cli/demo.js';
import { relayCommand } from '../../../proxy/cli/relay.js';
import { relayServerOptions } from '../../../proxy/options/relay.js';
import { tunnelClientCommand, tunnelClientOptions } from '../../../proxy/cli/tunnel-client.js';
import { tunnelServerCommand, tunnelServerOptions } from '../../../proxy/cli/tunnel-server.js';
import { HOSTING_FLAGS, NEGATED_FLAGS, optionName } from '../../../proxy/options/names.js';
import { formatDuration, formatSize } from '../../../proxy/config/units.js';
import { DEMO_DEFAULTS, DEMO_STRATEGIES } from '../../../proxy/demo/scenario.js';
import { RELAY_DEFAULTS } from '../../../proxy/relay/defaults.js';
import { TUNNEL_CLIENT_DEFAULTS } from '../../../proxy/tunnel/client.js';
import { TUNNEL_DEFAULTS } from '../../../proxy/tunnel/defaults.js';
import { TUNNEL_SESSION_DEFAULTS } from '../../../proxy/tunnel/session.js';
import { Governor } from '../../../proxy/signals/governor.js';
import { resolveSessionOptions } from '../../../windowing/index.js';

/**
 * One source of truth for defaults: every flag's --help default, parsed, is the default the library
 * uses for the option it sets (named by proxy/options/names.ts), each flag really sets that
 * option, and README's tables of defaults say the same. A hand-copied default that drifts fails here.
 */

interface Case {
  command: Command;
  /** The required flags, with values. */
  required: string[];
  /** What the library uses for each option left out, by option name. */
  defaults: Readonly<Record<string, unknown>>;
  /** What the command passes its sidecar, built from parsed flags (the demo has no sidecar). */
  build?: (o: ParsedOptions) => object;
}

const CASES: Case[] = [
  { command: relayCommand, required: ['--listen', '127.0.0.1:0', '--target', '127.0.0.1:1'], defaults: RELAY_DEFAULTS, build: (o) => relayServerOptions(o) },
  {
    command: tunnelClientCommand,
    required: ['--listen', '127.0.0.1:0', '--server', '127.0.0.1:1'],
    defaults: { ...TUNNEL_DEFAULTS, ...TUNNEL_CLIENT_DEFAULTS },
    build: tunnelClientOptions,
  },
  { command: tunnelServerCommand, required: ['--listen', '127.0.0.1:0', '--target', '127.0.0.1:1'], defaults: TUNNEL_DEFAULTS, build: tunnelServerOptions },
  { command: demoCommand, required: [], defaults: { ...DEMO_DEFAULTS, strategies: DEMO_STRATEGIES.join(',') } },
];

/** Flags whose default the help text names but the CLI does not apply (it must know whether the flag was given). */
const DEFAULT_IN_HELP_TEXT = new Set(['spill-dir']);
/** Flags passed to shutdown() rather than to the sidecar's constructor. */
const SHUTDOWN_FLAGS = new Set(['drain-timeout']);
/** Options the commands build from hosting flags (the access log from --log/--quiet, TLS from the files) or for the process (one-line notices on stderr). */
const FROM_HOSTING_FLAGS = new Set(['onAccessLog', 'onLinkLog', 'onNotice', 'tls']);

const nameOf = (spec: OptionSpec): string | null => optionName(spec.name, spec.kind);
const parsedDefault = (spec: OptionSpec): unknown => parseOptions([], [{ ...spec, required: false }])[spec.name];

/** A value for `spec` other than its default and within its bounds, as typed on the command line. */
function otherValue(spec: OptionSpec): string | null {
  switch (spec.kind) {
    case 'flag':
      return null;
    case 'choice':
      return spec.choices!.find((c) => c !== spec.default)!;
    case 'string':
      if (spec.name === 'toxic') return 'latency:upstream:latency=5';
      return spec.placeholder?.startsWith('CIDR') ? '10.0.0.0/8' : '/elsewhere';
    case 'address':
      return '127.0.0.1:9';
    default: {
      const d = parsedDefault(spec) as number;
      const fits = (n: number): boolean =>
        n !== d && n >= (spec.min ?? 0) && n <= (spec.max ?? Number.MAX_SAFE_INTEGER) && (spec.kind === 'number' || Number.isInteger(n));
      return String([d * 2, d / 2, d + 1, spec.min ?? 0, spec.max ?? 0].find(fits));
    }
  }
}

describe('option defaults: --help, library and README from one source', () => {
  it('a flag means the same option on every command that has it', () => {
    const seen = new Map<string, string>();
    for (const { command } of CASES) {
      for (const spec of command.options) {
        const key = `${spec.name} ${spec.kind}`;
        const earlier = seen.get(spec.name);
        if (earlier !== undefined) expect(key, `--${spec.name} on ${command.name}`).to.equal(earlier);
        seen.set(spec.name, key);
      }
    }
    expect(seen.size).to.be.at.least(40);
  });

  for (const { command, defaults, build, required } of CASES) {
    describe(`sluice ${command.name}`, () => {
      it('every --help default, parsed, is the library default of the option the flag sets', () => {
        const wrong: string[] = [];
        let checked = 0;
        for (const spec of command.options) {
          const name = nameOf(spec);
          if (name === null || spec.required) continue;
          const library = defaults[name];
          if (spec.kind === 'flag') {
            const value = NEGATED_FLAGS.has(spec.name) ? !parsedDefault(spec) : parsedDefault(spec);
            if (value !== library) wrong.push(`--${spec.name} off means ${name}=${String(value)}, the library's default is ${String(library)}`);
          } else if (spec.default !== undefined) {
            const value = parsedDefault(spec);
            if (value !== library) wrong.push(`--${spec.name} (default ${spec.default}) is ${String(value)}, the library's ${name} is ${String(library)}`);
          } else if (DEFAULT_IN_HELP_TEXT.has(spec.name)) {
            if (!spec.help.includes(`(default ${String(library)})`)) wrong.push(`--${spec.name}'s help does not name the library's ${name}, ${String(library)}`);
          } else if (library !== undefined) {
            wrong.push(`--${spec.name} shows no default, the library's ${name} is ${String(library)}`);
          }
          checked++;
        }
        expect(wrong).to.deep.equal([]);
        expect(checked).to.be.at.least(4);
      });

      if (!build) return;

      it('every flag sets the option the name table gives it, and nothing else sets options', () => {
        const base = parseOptions(required, command.options);
        const wrong: string[] = [];
        for (const spec of command.options) {
          const name = nameOf(spec);
          if (name === null || SHUTDOWN_FLAGS.has(spec.name)) continue;
          const text = otherValue(spec);
          const args = spec.required ? required : [...required, text === null ? `--${spec.name}` : `--${spec.name}=${text}`];
          const parsed = parseOptions(args, command.options)[spec.name];
          // --toxic's text becomes the toxic the API would make of it.
          const want = spec.name === 'toxic' ? (parsed as string[]).map((t) => parseToxicSpec(toxicObjectFromFlag(t))) : NEGATED_FLAGS.has(spec.name) ? !parsed : parsed;
          const built = build(parseOptions(args, command.options)) as Record<string, unknown>;
          if (JSON.stringify(built[name]) !== JSON.stringify(want)) wrong.push(`--${spec.name} ${text ?? ''} gave ${name}=${JSON.stringify(built[name])}, wanted ${JSON.stringify(want)}`);
        }
        expect(wrong).to.deep.equal([]);

        const named = new Set(command.options.map(nameOf));
        const unnamed = Object.keys(build(base)).filter((key) => !named.has(key) && !FROM_HOSTING_FLAGS.has(key));
        expect(unnamed, 'options set by no flag of the name table').to.deep.equal([]);
      });
    });
  }

  describe('defaults the sidecars leave to the layers below', () => {
    it("TUNNEL_DEFAULTS are the session's own: a link without those options gets them", () => {
      const limits = resolveSessionOptions({ role: 'dialer' });
      const { windowBytes, maxWindowBytes, autoTune, maxStreams, acceptBacklog, maxQueuedControlReplies, maxConsecutiveEmptyFrames, windowUpdatesPerDataFrame, resetBurst, resetsPerSecond } = TUNNEL_DEFAULTS;
      expect({ initialWindowBytes: windowBytes, maxWindowBytes, autoTune, maxStreams, acceptBacklog, maxQueuedControlReplies, maxConsecutiveEmptyFrames, windowUpdatesPerDataFrame, resetBurst, resetsPerSecond }).to.deep.equal({
        initialWindowBytes: limits.initialWindowBytes,
        maxWindowBytes: limits.maxWindowBytes,
        autoTune: limits.autoTune,
        maxStreams: limits.maxStreams,
        acceptBacklog: limits.acceptBacklog,
        maxQueuedControlReplies: limits.maxQueuedControlReplies,
        maxConsecutiveEmptyFrames: limits.maxConsecutiveEmptyFrames,
        windowUpdatesPerDataFrame: limits.windowUpdatesPerDataFrame,
        resetBurst: limits.resetBurst,
        resetsPerSecond: limits.resetsPerSecond,
      });
      expect({ keepaliveIntervalMs: TUNNEL_DEFAULTS.keepaliveIntervalMs, errorLingerMs: TUNNEL_DEFAULTS.errorLingerMs }).to.deep.equal({
        keepaliveIntervalMs: TUNNEL_SESSION_DEFAULTS.keepaliveIntervalMs,
        errorLingerMs: TUNNEL_SESSION_DEFAULTS.errorLingerMs,
      });
    });

    it("RELAY_DEFAULTS' memory budget and shed-at are the governor's own", () => {
      const governor = new Governor({ relayingConnections: () => ({ total: 0, heldBack: 0 }), activeConnections: () => 0, setConcurrencyLimit: () => {} });
      try {
        expect({ memoryBudgetBytes: governor.budget.budgetBytes, shedAt: governor.signals.shedAt }).to.deep.equal({
          memoryBudgetBytes: RELAY_DEFAULTS.memoryBudgetBytes,
          shedAt: RELAY_DEFAULTS.shedAt,
        });
      } finally {
        governor.close();
      }
    });
  });

  it('the flags that set no option are flags of some command', () => {
    const all = new Set(CASES.flatMap(({ command }) => command.options.map((s) => s.name)));
    expect([...HOSTING_FLAGS].filter((f) => !all.has(f))).to.deep.equal([]);
  });

  describe("README's tables of defaults", () => {
    const README = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');

    /** The default as README writes it: `256 KiB`, `5 s`, `5 min`, `1 h`, `0.8`. */
    function asReadmeWrites(spec: OptionSpec, value: unknown): string {
      if (spec.kind === 'size') return formatSize(value as number).replace(/^(\d+)([KMG]iB)$/, '$1 $2');
      if (spec.kind === 'duration') return formatDuration(value as number).replace(/^(\d+)(ms|s|m|h)$/, (_, n: string, u: string) => `${n} ${u === 'm' ? 'min' : u}`);
      return String(value);
    }

    /** The rows of the first table after `heading`: each row's flags and its "default" cell. */
    function tableRows(heading: string): { flags: string[]; defaultCell: string }[] {
      const from = README.indexOf(heading);
      expect(from, `README has "${heading}"`).to.be.at.least(0);
      const lines = README.slice(from).split('\n');
      const start = lines.findIndex((l) => l.startsWith('|'));
      const table = lines.slice(start, lines.findIndex((l, i) => i > start && !l.startsWith('|')));
      const cells = (line: string): string[] => line.split('|').slice(1, -1).map((c) => c.trim());
      const column = cells(table[0]!).indexOf('default');
      expect(column, `"${heading}" table has a default column`).to.be.above(0);
      // The flags are in the column before the defaults.
      return table.slice(2).map((row) => ({ flags: [...cells(row)[column - 1]!.matchAll(/`--([a-z-]+)`/g)].map((m) => m[1]!), defaultCell: cells(row)[column]! }));
    }

    const tables: [string, Case][] = [
      ['## Limits and defaults', CASES[0]!],
      ['### Hardening', CASES[2]!],
    ];
    for (const [heading, { command, defaults }] of tables) {
      it(`"${heading}" gives each flag the ${command.name}'s default`, () => {
        const rows = tableRows(heading).filter((r) => r.flags.length > 0);
        const wrong: string[] = [];
        for (const { flags, defaultCell } of rows) {
          for (const flag of flags) {
            const spec = command.options.find((s) => s.name === flag);
            if (!spec) {
              wrong.push(`--${flag} is not a flag of ${command.name}`);
              continue;
            }
            const text = asReadmeWrites(spec, defaults[nameOf(spec)!]);
            const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            if (!new RegExp(`(^|[^\\d.])${escaped}($|[^\\d.])`).test(defaultCell)) wrong.push(`--${flag}: README says "${defaultCell}", the default is ${text}`);
          }
        }
        expect(wrong).to.deep.equal([]);
        expect(rows.length).to.be.at.least(8);
      });
    }
  });
});
