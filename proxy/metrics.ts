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

  /** Shorthand for a gauge read from a function. */
  gauge(name: string, help: string, read: MetricFamily['read']): void {
    this.register({ name, help, type: 'gauge', read });
  }

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
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const sample of this.samples(family.name)) {
        lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
