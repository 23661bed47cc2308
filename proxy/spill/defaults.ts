import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The spill defaults on their own, so that the relay's defaults (and --help) can name them without
 * loading the spill store, which a relay without `--overflow spill` never opens.
 */

/** Where spill goes without --spill-dir. */
export const DEFAULT_SPILL_DIR = join(tmpdir(), 'sluice-spill');

/** Most bytes on disk over all connections without --spill-max: 1 GiB, past it spill falls back to block. */
export const DEFAULT_SPILL_MAX_BYTES = 1024 ** 3;
