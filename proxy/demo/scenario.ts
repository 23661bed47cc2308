import { get } from 'node:http';
import { join } from 'node:path';
import { startHttpEndpoints, type HttpEndpoints } from '../signals/http-endpoints.js';
import { MetricsRegistry } from '../signals/metrics.js';
import { RelayServer, type RelayServerOptions } from '../relay/relay-server.js';
import { SlowConsumer } from './consumer.js';
import { MESSAGE_BYTES } from './messages.js';
import type { LiveMiddle } from './live.js';
import { NaiveRelay } from './naive-relay.js';
import { Producer } from './producer.js';

/** The rows of the demo, in the order they run. */
export const DEMO_STRATEGIES = ['none', 'block', 'drop-newest', 'spill', 'adaptive'] as const;
export type DemoStrategy = (typeof DEMO_STRATEGIES)[number];

/** One point of a row's timeline. */
export interface TimelinePoint {
  tMs: number;
  /** Bytes held in RAM between producer and consumer by the proxy. */
  memoryBytes: number;
  /** Bytes held on disk (spill). */
  diskBytes: number;
  /** Median latency of the messages delivered in this interval, if any. */
  latencyMs: number | null;
  deliveredPerS: number;
  sentPerS: number;
}

/** A finished row. */
export interface RowResult {
  strategy: DemoStrategy;
  durationMs: number;
  sent: number;
  delivered: number;
  /** Dropped by the proxy, or shed at the source on the proxy's say-so. */
  dropped: number;
  /** Sent but neither delivered nor dropped when the row ended (still in queues). */
  inFlight: number;
  /** Offered while the producer was held back: they would wait upstream. */
  heldUpstream: number;
  producerRatePerS: number;
  peakMemoryBytes: number;
  peakDiskBytes: number;
  p50Ms: number | null;
  p99Ms: number | null;
  outOfOrder: number;
  timeline: TimelinePoint[];
  note: string;
}

/** What `sluice demo` runs without flags: 8 s per strategy, a 10k msg/s producer, a 2k msg/s consumer. */
export const DEMO_DEFAULTS = {
  durationMs: 8_000,
  producerPerS: 10_000,
  consumerPerS: 2_000,
} as const;

/** Scenario settings. */
export interface ScenarioOptions {
  durationMs: number;
  producerPerS: number;
  consumerPerS: number;
  /** The naive relay is cut off past this many buffered bytes. */
  naiveCapBytes: number;
  spillDir: string;
  /** Directory for the unix sockets between the pieces. */
  socketDir: string;
  sampleEveryMs: number;
  onSample?: (strategy: DemoStrategy, point: TimelinePoint) => void;
  /** Told of the middle once it runs, and with null before it closes (the live page follows it). */
  onMiddle?: (strategy: DemoStrategy, middle: LiveMiddle | null) => void;
}

/** What sits between producer and consumer for one row. */
interface Middle {
  path: string;
  server: RelayServer | null;
  bufferedBytes(): number;
  diskBytes(): number;
  dropped(): number;
  note(): string;
  admit?: () => boolean;
  close(): Promise<void>;
}

/** Runs one row: consumer, middle, producer for `durationMs`, sampling as it goes. */
export async function runStrategy(strategy: DemoStrategy, options: ScenarioOptions): Promise<RowResult> {
  const consumer = new SlowConsumer(options.consumerPerS);
  const consumerPath = join(options.socketDir, `${strategy}-consumer.sock`);
  await consumer.listen(consumerPath);
  const middle = await startMiddle(strategy, consumerPath, join(options.socketDir, `${strategy}-proxy.sock`), options);
  options.onMiddle?.(strategy, middle);
  const producer = new Producer({ path: middle.path, messagesPerS: options.producerPerS, ...(middle.admit ? { admit: middle.admit } : {}) });
  const started = performance.now();
  producer.start();

  const timeline: TimelinePoint[] = [];
  let peakMemory = 0;
  let peakDisk = 0;
  let seenLatencies = 0;
  let lastSent = 0;
  let lastDelivered = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const tMs = performance.now() - started;
      const lat = consumer.stats.latenciesMs.slice(seenLatencies);
      seenLatencies += lat.length;
      const point: TimelinePoint = {
        tMs,
        memoryBytes: middle.bufferedBytes(),
        diskBytes: middle.diskBytes(),
        latencyMs: lat.length > 0 ? percentile(lat, 50) : null,
        deliveredPerS: ((consumer.stats.delivered - lastDelivered) * 1000) / options.sampleEveryMs,
        sentPerS: ((producer.stats.sent - lastSent) * 1000) / options.sampleEveryMs,
      };
      lastSent = producer.stats.sent;
      lastDelivered = consumer.stats.delivered;
      peakMemory = Math.max(peakMemory, point.memoryBytes);
      peakDisk = Math.max(peakDisk, point.diskBytes);
      timeline.push(point);
      options.onSample?.(strategy, point);
      if (tMs >= options.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, options.sampleEveryMs);
  });
  const durationMs = performance.now() - started;
  producer.stop();
  const delivered = consumer.stats.delivered;
  const dropped = middle.dropped() + producer.stats.shed;
  const result: RowResult = {
    strategy,
    durationMs,
    sent: producer.stats.sent,
    delivered,
    dropped,
    inFlight: Math.max(0, producer.stats.sent - delivered - middle.dropped()),
    heldUpstream: producer.stats.heldUpstream,
    producerRatePerS: (producer.stats.sent * 1000) / durationMs,
    peakMemoryBytes: peakMemory,
    peakDiskBytes: peakDisk,
    p50Ms: consumer.stats.latenciesMs.length ? percentile(consumer.stats.latenciesMs, 50) : null,
    p99Ms: consumer.stats.latenciesMs.length ? percentile(consumer.stats.latenciesMs, 99) : null,
    outOfOrder: consumer.stats.outOfOrder,
    timeline,
    note: middle.note(),
  };
  options.onMiddle?.(strategy, null);
  await middle.close();
  await consumer.close();
  return result;
}

async function startMiddle(strategy: DemoStrategy, consumerPath: string, path: string, options: ScenarioOptions): Promise<Middle> {
  if (strategy === 'none') {
    const naive = new NaiveRelay(consumerPath, options.naiveCapBytes);
    await naive.listen(path);
    return {
      path,
      server: null,
      bufferedBytes: () => naive.bufferedBytes(),
      diskBytes: () => 0,
      dropped: () => 0,
      note: () => (naive.cappedAtMs !== null ? `cut off at the ${options.naiveCapBytes >> 20} MiB demo cap` : 'memory grows with the backlog'),
      close: () => naive.close(),
    };
  }
  const relayOptions: RelayServerOptions = {
    listen: { kind: 'unix', path },
    target: { kind: 'unix', path: consumerPath },
    ...strategyOptions(strategy, options),
  };
  const server = new RelayServer(relayOptions);
  await server.listen();
  let endpoints: HttpEndpoints | null = null;
  let healthy = true;
  let poller: NodeJS.Timeout | null = null;
  if (strategy === 'adaptive') {
    // The producer plays a load balancer that listens to /healthz: while sluice answers 503 it
    // sheds at the source instead of queueing (a real balancer would send the work elsewhere).
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    endpoints = await startHttpEndpoints({ kind: 'tcp', host: '127.0.0.1', port: 0 }, registry, () => server.health());
    const healthPort = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    poller = setInterval(() => {
      get({ host: '127.0.0.1', port: healthPort, path: '/healthz', agent: false }, (res) => {
        healthy = res.statusCode === 200;
        res.resume();
      }).on('error', () => {});
    }, 100);
  }
  return {
    path,
    server,
    bufferedBytes: () => server.bufferedBytes(),
    diskBytes: () => server.spilledBytes(),
    dropped: () => server.messagesDropped(),
    note: () => noteFor(strategy),
    ...(strategy === 'adaptive' ? { admit: () => healthy } : {}),
    async close() {
      if (poller) clearInterval(poller);
      await endpoints?.close();
      await server.shutdown(0);
    },
  };
}

function strategyOptions(strategy: DemoStrategy, options: ScenarioOptions): Partial<RelayServerOptions> {
  switch (strategy) {
    case 'block':
      return {};
    case 'drop-newest':
      return { messages: 'lines', overflow: 'drop-newest', maxMessageBytes: MESSAGE_BYTES * 4 };
    case 'spill':
      return { messages: 'lines', overflow: 'spill', spillDir: options.spillDir, spillMaxBytes: 1024 ** 3 };
    case 'adaptive':
      return { adaptiveConcurrency: true };
    default:
      return {};
  }
}

function noteFor(strategy: DemoStrategy): string {
  switch (strategy) {
    case 'block':
      return 'lossless: the producer is held to the consumer\'s pace';
    case 'drop-newest':
      return 'whole messages dropped while the window is full, counted';
    case 'spill':
      return 'lossless: the surplus waits on disk, in order';
    case 'adaptive':
      return '/healthz 503 under pressure; the producer sheds at the source';
    default:
      return '';
  }
}

/** The p-th percentile (nearest rank) of some values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
