import type { OptionSpec, ParsedOptions } from '../options/parse.js';

/** One `sluice <name>` subcommand: its flags, help text and what it runs. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  examples: string[];
  options: OptionSpec[];
  /** Runs until the command is done; resolves with the exit code. */
  run(options: ParsedOptions): Promise<number>;
}
