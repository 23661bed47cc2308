/** The `--listen` / `--target HOST:PORT` flags both baseline relays take, as `sluice relay` does. */
export function hostPortFlag(flag: string, program: string): { host: string; port: number } {
  const i = process.argv.indexOf(flag);
  const match = (i >= 0 ? process.argv[i + 1] : undefined)?.match(/^\[?([^\]]+)\]?:(\d+)$/);
  if (!match) {
    process.stderr.write(`${program}: ${flag} HOST:PORT is required\n`);
    process.exit(2);
  }
  return { host: match[1]!, port: Number(match[2]) };
}
