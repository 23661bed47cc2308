/** A number given as `--name N` on this process's command line, or `fallback` without the flag; anything but a number >= 0 stops the run with one line naming the flag. */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!(value >= 0)) throw new Error(`--${name}: expected a number >= 0, got ${JSON.stringify(process.argv[i + 1] ?? '')}`);
  return value;
}
