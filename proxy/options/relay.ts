import type { MessageFraming } from '../../windowing/message-framer.js';
import type { OverflowPolicy } from '../../windowing/message-queue.js';
import { formatSize } from '../config/units.js';
import type { Address } from '../net/address.js';
import { RELAY_DEFAULTS } from '../relay/defaults.js';
import type { RelayServerOptions } from '../relay/relay-server.js';
import { COMMON_OPTIONS, connectionSettings, RELAY_ONLY_OPTIONS } from './common.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './parse.js';
import { checkToxicsFit } from '../relay/connection-toxics.js';
import { parseToxicSpec, toxicObjectFromFlag, ToxicSpecError, TOXIC_TYPES, type ToxicSpec } from '../stages/toxics/index.js';

/**
 * The options of a relay, as `sluice relay` takes them as flags and `sluice serve` as config keys
 * and API fields (the flag names without the dashes): one list, one parser, one builder.
 */
export const RELAY_OPTIONS: OptionSpec[] = [
    { name: 'listen', kind: 'address', required: true, help: 'where clients connect (port 0 picks a free one)' },
    { name: 'target', kind: 'address', required: true, help: 'the slow service to protect' },
    ...COMMON_OPTIONS,
    ...RELAY_ONLY_OPTIONS,
    { name: 'messages', kind: 'choice', choices: ['lines', 'u32be'], help: 'client-to-target bytes are messages: newline-ended lines, or 4-byte big-endian length + body' },
    { name: 'overflow', kind: 'choice', choices: ['block', 'drop-newest', 'drop-oldest', 'spill'], default: RELAY_DEFAULTS.overflow, help: 'when the window toward the target is full: hold the client back, drop whole messages, or spill them to disk (all but block need --messages)' },
    { name: 'max-message', kind: 'size', default: formatSize(RELAY_DEFAULTS.maxMessageBytes), min: 1, max: 0xffffffff, help: 'longest message body; a longer one closes its connection (never truncated)' },
    { name: 'spill-dir', kind: 'string', placeholder: 'DIR', help: `where --overflow spill keeps what does not fit in memory (default ${RELAY_DEFAULTS.spillDir})` },
    { name: 'spill-max', kind: 'size', default: formatSize(RELAY_DEFAULTS.spillMaxBytes), min: 64 * 1024, help: 'most bytes on disk over all connections; past it spill falls back to block' },
    { name: 'workers', kind: 'count', default: '1', min: 1, max: 64, help: 'processes sharing the listening socket (node:cluster), each with its share of --memory-budget' },
    { name: 'read-path', kind: 'choice', choices: ['onread', 'stream'], default: RELAY_DEFAULTS.readPath, help: "how sockets are read: 'onread' reuses buffers (fast), 'stream' is Node's ordinary path" },
];

/** Combinations the flags cannot express one by one; throws UsageError naming the flag. */
export function checkRelayOptions(o: ParsedOptions): void {
  const overflow = o.overflow as OverflowPolicy;
  if (overflow !== 'block' && o.messages === undefined) {
    throw new UsageError(`--overflow ${overflow} needs --messages lines|u32be (only whole messages are ever dropped or spilled)`);
  }
  if (o['spill-dir'] !== undefined && overflow !== 'spill') throw new UsageError('--spill-dir only applies with --overflow spill');
}

/** The RelayServer options from parsed flags; `share` divides the memory budget among workers. */
export function relayServerOptions(o: ParsedOptions, share = 1): RelayServerOptions {
  return {
    listen: o.listen as Address,
    target: o.target as Address,
    windowBytes: o.window as number,
    ...connectionSettings(o),
    connectRetryMs: o['connect-retry'] as number,
    readPath: o['read-path'] as 'onread' | 'stream',
    memoryBudgetBytes: Math.floor((o['memory-budget'] as number) / share),
    adaptiveConcurrency: o['adaptive-concurrency'] === true,
    shedAt: o['shed-at'] as number,
    rateBytesPerS: o.rate as number,
    ...(o.messages !== undefined ? { messages: o.messages as MessageFraming } : {}),
    overflow: o.overflow as OverflowPolicy,
    maxMessageBytes: o['max-message'] as number,
    ...(o['spill-dir'] !== undefined ? { spillDir: o['spill-dir'] as string } : {}),
    spillMaxBytes: o['spill-max'] as number,
    ...(o.toxic !== undefined ? { toxics: toxicsFromFlags(o) } : {}),
  };
}


/**
 * `--toxic` (relay only: serve's proxies take a `toxics` list of toxiproxy objects instead). Each is
 * `TYPE[:STREAM][:KEY=VALUE,...]`, read by the same parser as the API's and the config file's toxics.
 */
export const TOXIC_OPTION: OptionSpec = {
  name: 'toxic',
  kind: 'string',
  repeatable: true,
  placeholder: 'TYPE[:STREAM][:K=V,...]',
  help: `a fault on every connection, as toxiproxy's toxics (${TOXIC_TYPES.filter((t) => t !== 'noop').join(', ')}); STREAM is downstream (default) or upstream; toxicity=P and name=N among the pairs`,
};

/** The toxics from `--toxic` flags, in order; throws UsageError naming the flag. */
export function toxicsFromFlags(o: ParsedOptions): ToxicSpec[] {
  const toxics: ToxicSpec[] = [];
  try {
    for (const text of (o.toxic as string[] | undefined) ?? []) {
      const object = toxicObjectFromFlag(text);
      if (!TOXIC_TYPES.includes(object.type as string)) throw new ToxicSpecError(`unknown toxic type "${object.type as string}" (one of ${TOXIC_TYPES.join(', ')})`, 'type');
      const toxic = parseToxicSpec(object);
      if (toxics.some((t) => t.name === toxic.name)) throw new ToxicSpecError(`two toxics named ${toxic.name} (add name=... to one)`, 'body');
      toxics.push(toxic);
    }
    checkToxicsFit(toxics, o.messages !== undefined);
  } catch (err) {
    if (err instanceof ToxicSpecError) throw new UsageError(`--toxic: ${err.message}`);
    throw err;
  }
  return toxics;
}
