#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
import { formatOptionsHelp, parseOptions, UsageError } from './options/parse.js';
import type { Command } from './cli/command.js';
import { demoCommand } from './cli/demo.js';
import { relayCommand } from './cli/relay.js';
import { serveCommand } from './cli/serve.js';
import { tunnelClientCommand } from './cli/tunnel-client.js';
import { tunnelServerCommand } from './cli/tunnel-server.js';

const COMMANDS: Command[] = [relayCommand, tunnelClientCommand, tunnelServerCommand, serveCommand, demoCommand];

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'sluice: a TCP flow-control proxy that makes a slow consumer\'s limit felt upstream',
    '',
    'Usage: sluice <command> [options]       sluice <command> --help for its options',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Examples:',
    ...COMMANDS.flatMap((c) => c.examples.slice(0, 1).map((e) => `  ${e}`)),
    '',
    'Sizes: 65536, 64KiB, 1MiB, 1GiB. Durations: 250ms, 5s, 1m, 1h.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`Usage: ${c.usage}`, '', c.summary, '', 'Options:', formatOptionsHelp(c.options), '', 'Examples:', ...c.examples.map((e) => `  ${e}`)].join('\n');
}

/** Runs the command line; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(globalHelp() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`unknown command "${name}" (try: ${COMMANDS.map((c) => c.name).join(', ')})`);
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
