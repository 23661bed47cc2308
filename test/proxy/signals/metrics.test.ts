import { expect } from 'chai';
import { formatAccessLog, MetricsRegistry, type AccessLogEntry } from '../../../proxy/index.js';

describe('metrics and access log formats', () => {
  it('renders families in the Prometheus text format with escaped labels', () => {
    const r = new MetricsRegistry();
    r.counter('x_total', 'Things.\nMore', () => [{ labels: { reason: 'a"b\\c' }, value: 3 }]);
    r.gauge('y', 'Level.', () => 0.5);
    expect(r.render()).to.equal(
      '# HELP x_total Things.\\nMore\n# TYPE x_total counter\nx_total{reason="a\\"b\\\\c"} 3\n# HELP y Level.\n# TYPE y gauge\ny 0.5\n',
    );
  });

  it('refuses to render a label name Prometheus would refuse the whole scrape for, naming the family and the label', () => {
    const registry = new MetricsRegistry();
    registry.gauge('app_queue', 'help', () => [{ labels: { 'bad-label': 'x' }, value: 1 }]);
    expect(() => registry.render()).to.throw(RangeError, 'metric app_queue: label name "bad-label" is not a Prometheus label name');
  });

  it('refuses duplicate and malformed names', () => {
    const r = new MetricsRegistry();
    r.gauge('a', 'A.', () => 1);
    expect(() => r.gauge('a', 'A.', () => 1)).to.throw(/twice/);
    expect(() => r.gauge('1a', 'A.', () => 1)).to.throw(/bad metric name/);
  });

  const entry: AccessLogEntry = {
    id: 7,
    client: '127.0.0.1:5000',
    target: '[::1]:6379',
    bytesUp: 10,
    bytesDown: 20,
    durationMs: 1234.4,
    end: 'target-reset',
    heldBackUpMs: 99.6,
    heldBackDownMs: 0,
    error: 'ECONNRESET',
  };
  const at = new Date('2026-01-02T03:04:05.000Z');

  it('formats an access-log line as text', () => {
    expect(formatAccessLog(entry, 'text', at)).to.equal(
      '2026-01-02T03:04:05.000Z conn=7 client=127.0.0.1:5000 target=[::1]:6379 up=10 down=20 duration=1234ms end=target-reset held_up=100ms held_down=0ms error=ECONNRESET',
    );
  });

  it('formats an access-log line as JSON', () => {
    expect(JSON.parse(formatAccessLog(entry, 'json', at))).to.deep.equal({
      time: '2026-01-02T03:04:05.000Z',
      conn: 7,
      client: '127.0.0.1:5000',
      target: '[::1]:6379',
      bytes_up: 10,
      bytes_down: 20,
      duration_ms: 1234,
      end: 'target-reset',
      held_up_ms: 100,
      held_down_ms: 0,
      error: 'ECONNRESET',
    });
  });
});

describe('metrics from several workers', () => {
  it('sums counters and plain gauges, takes max or min where a family says so, per label set', () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    for (const [r, n, p] of [[a, 3, 0.2], [b, 5, 0.9]] as const) {
      r.counter('x_total', 'X.', () => [{ labels: { direction: 'up' }, value: n }, { labels: { direction: 'down' }, value: 1 }]);
      r.gauge('pressure', 'P.', () => p, 'max');
      r.gauge('ok', 'OK.', () => (p > 0.5 ? 0 : 1), 'min');
    }
    const primary = new MetricsRegistry();
    primary.registerMerged(() => [a.snapshot(), b.snapshot()]);
    const text = primary.render();
    expect(text).to.include('x_total{direction="up"} 8\nx_total{direction="down"} 2\n');
    expect(text).to.include('pressure 0.9\n');
    expect(text).to.include('ok 0\n');
    expect(text.match(/# TYPE x_total counter/g)).to.have.length(1);
  });
});
