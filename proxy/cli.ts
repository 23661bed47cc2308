#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
import { formatOptionsHelp, parseOptions, UsageError } from './options/parse.js';
import type { Command } from './cli/command.js';

// Each command's module is loaded only when it runs (or for the help), so `sluice relay` does not
// read serve's control API or the demo: starting needs fewer files, and Node opens a module
// graph's files all at once, which is what runs out first under a low `ulimit -n`.
const COMMANDS: Record<string, () => Promise<Command>> = {
  relay: async () => (await import('./cli/relay.js')).relayCommand,
  'tunnel-client': async () => (await import('./cli/tunnel-client.js')).tunnelClientCommand,
  'tunnel-server': async () => (await import('./cli/tunnel-server.js')).tunnelServerCommand,
  serve: async () => (await import('./cli/serve.js')).serveCommand,
  demo: async () => (await import('./cli/demo.js')).demoCommand,
};
const NAMES = Object.keys(COMMANDS);

async function globalHelp(): Promise<string> {
  const commands: Command[] = [];
  for (const name of NAMES) commands.push(await COMMANDS[name]!());
  const width = Math.max(...NAMES.map((n) => n.length)) + 2;
  return [
    'sluice: a TCP flow-control proxy that makes a slow consumer\'s limit felt upstream',
    '',
    'Usage: sluice <command> [options]       sluice <command> --help for its options',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Examples:',
    ...commands.flatMap((c) => c.examples.slice(0, 1).map((e) => `  ${e}`)),
    '',
    'Sizes: 65536, 64KiB, 1MiB, 1GiB. Durations: 250ms, 5s, 1m, 1h (a bare number is milliseconds).',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`Usage: ${c.usage}`, '', c.summary, '', 'Options:', formatOptionsHelp(c.options), '', 'Examples:', ...c.examples.map((e) => `  ${e}`)].join('\n');
}

/** Runs the command line; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await globalHelp()) + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const command = load ? await load() : undefined;
  try {
    if (!command) throw new UsageError(`unknown command "${name}" (try: ${NAMES.join(', ')})`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(commandHelp(command) + '\n');
      return 0;
    }
    const options = parseOptions(rest, command.options);
    return await command.run(options);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sluice${command ? ` ${command.name}` : ''}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`sluice: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
