/** One attribute of a toxic type: a number with a range, its default, and its unit for messages. */
export interface AttributeSchema {
  name: string;
  default: number;
  min: number;
  max?: number;
  /** True for whole numbers (toxiproxy's int64 fields). */
  whole: boolean;
  unit?: string;
}

const ms = (name: string, def = 0): AttributeSchema => ({ name, default: def, min: 0, whole: true, unit: 'milliseconds' });
const bytes = (name: string, def: number, min: number): AttributeSchema => ({ name, default: def, min, whole: true, unit: 'bytes' });

/**
 * The attributes of every toxic type, under toxiproxy's names and units (toxics/*.go there), and
 * sluice's own types after them. Defaults are toxiproxy's (Go's zero values) except where zero
 * would be meaningless (a slicer of 0-byte pieces, a window of 0 bytes).
 */
export const TOXIC_SCHEMAS: Readonly<Record<string, readonly AttributeSchema[]>> = {
  noop: [],
  latency: [ms('latency'), ms('jitter')],
  // 1 KB = 1000 bytes, as toxiproxy counts; 0 lets everything through.
  bandwidth: [{ name: 'rate', default: 0, min: 0, whole: true, unit: 'KB/s' }],
  slow_close: [ms('delay')],
  timeout: [ms('timeout')],
  reset_peer: [ms('timeout')],
  slicer: [bytes('average_size', 1, 1), bytes('size_variation', 0, 0), { name: 'delay', default: 0, min: 0, whole: true, unit: 'microseconds' }],
  limit_data: [bytes('bytes', 0, 0)],
  // sluice's own:
  stall: [ms('duration')],
  window: [bytes('bytes', 16 * 1024, 1)],
  drop: [{ name: 'probability', default: 0, min: 0, max: 1, whole: false }],
};
