/**
 * A small Prometheus text-format registry. Metrics are read from live state at scrape time
 * (a function per metric), so the data path never touches a metric object.
 */

/** One labelled value of a metric. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** A metric family: its name, help line, type and how to read its current samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  read: () => number | Sample[];
  /** How values from several worker processes combine: summed (default), or the max or min. */
  aggregate?: 'sum' | 'max' | 'min';
}

/** A family's current samples, plain data that can cross a process boundary. */
export interface FamilySnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  aggregate: 'sum' | 'max' | 'min';
  samples: Sample[];
}

/** Collects metric families and renders them in the Prometheus text exposition format. */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>();

  /** Adds a family; names are unique per registry. */
  register(family: MetricFamily): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name)) throw new RangeError(`bad metric name "${family.name}"`);
    if (this.families.has(family.name)) throw new RangeError(`metric "${family.name}" is registered twice`);
    this.families.set(family.name, family);
  }

  /** Shorthand for a counter read from a function. */
  counter(name: string, help: string, read: MetricFamily['read']): void {
    this.register({ name, help, type: 'counter', read });
  }

  /** Shorthand for a gauge read from a function; `aggregate` says how workers' values combine. */
  gauge(name: string, help: string, read: MetricFamily['read'], aggregate: MetricFamily['aggregate'] = 'sum'): void {
    this.register({ name, help, type: 'gauge', read, aggregate });
  }

  /** Every family's current samples, to send to the process that serves /metrics. */
  snapshot(): FamilySnapshot[] {
    return [...this.families.values()].map((f) => ({
      name: f.name,
      help: f.help,
      type: f.type,
      aggregate: f.aggregate ?? 'sum',
      samples: this.samples(f.name),
    }));
  }

  /**
   * Registers the families of several processes' snapshots as one: samples with the same labels
   * are summed (or take the max or min, as each family says). `read` is asked at every render.
   */
  registerMerged(read: () => FamilySnapshot[][]): void {
    this.mergedSource = () => mergeSnapshots(read());
  }

  private mergedSource: (() => FamilySnapshot[]) | null = null;

  /** Current value of one family's samples, for tests and the health logic. */
  samples(name: string): Sample[] {
    const family = this.families.get(name);
    if (!family) return [];
    const read = family.read();
    return typeof read === 'number' ? [{ value: read }] : read;
  }

  /** The text exposition format (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    const own = [...this.families.values()].map((f) => ({ name: f.name, help: f.help, type: f.type, samples: this.samples(f.name) }));
    const merged = this.mergedSource ? this.mergedSource().filter((f) => !this.families.has(f.name)) : [];
    for (const family of [...own, ...merged]) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const sample of family.samples) {
        lines.push(`${family.name}${formatLabels(family.name, sample.labels)} ${formatValue(sample.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

// Prometheus refuses a whole scrape over one bad label name, so one is refused here, naming it.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatLabels(family: string, labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new RangeError(`metric ${family}: label name ${JSON.stringify(k)} is not a Prometheus label name`);
    return `${k}="${String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
  });
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Combines families of the same name from several snapshots; see MetricsRegistry.registerMerged. */
export function mergeSnapshots(snapshots: FamilySnapshot[][]): FamilySnapshot[] {
  const out = new Map<string, FamilySnapshot & { byLabels: Map<string, Sample> }>();
  for (const snapshot of snapshots) {
    for (const family of snapshot) {
      let m = out.get(family.name);
      if (!m) {
        m = { ...family, samples: [], byLabels: new Map() };
        out.set(family.name, m);
      }
      for (const sample of family.samples) {
        const key = JSON.stringify(Object.entries(sample.labels ?? {}).sort());
        const prev = m.byLabels.get(key);
        if (!prev) m.byLabels.set(key, { ...sample });
        else if (m.aggregate === 'max') prev.value = Math.max(prev.value, sample.value);
        else if (m.aggregate === 'min') prev.value = Math.min(prev.value, sample.value);
        else prev.value += sample.value;
      }
    }
  }
  return [...out.values()].map(({ byLabels, ...f }) => ({ ...f, samples: [...byLabels.values()] }));
}
