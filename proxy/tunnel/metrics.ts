import type { MetricsRegistry, Sample } from '../signals/metrics.js';
import type { TunnelSession, TunnelSessionStats } from './session.js';

/** A live link as the metrics see it: a label value and its session. */
export interface LinkView {
  readonly label: string;
  readonly session: TunnelSession;
}

type Totals = Pick<
  TunnelSessionStats,
  'windowUpdatesSent' | 'windowUpdatesReceived' | 'windowsGrown' | 'windowsShrunk' | 'bytesSent' | 'bytesDelivered' | 'streamsRefused' | 'linkBytesRead' | 'linkBytesWritten'
>;

const TOTAL_KEYS: (keyof Totals)[] = [
  'windowUpdatesSent',
  'windowUpdatesReceived',
  'windowsGrown',
  'windowsShrunk',
  'bytesSent',
  'bytesDelivered',
  'streamsRefused',
  'linkBytesRead',
  'linkBytesWritten',
];

/**
 * Per-link and per-stream metrics of a tunnel sidecar. Gauges read the live links at scrape time;
 * counters add the final figures of closed links to the live ones, so they never go backwards.
 */
export class LinkMetrics {
  /** Links established so far. */
  linksTotal = 0;
  private readonly closed: Totals = {
    windowUpdatesSent: 0,
    windowUpdatesReceived: 0,
    windowsGrown: 0,
    windowsShrunk: 0,
    bytesSent: 0,
    bytesDelivered: 0,
    streamsRefused: 0,
    linkBytesRead: 0,
    linkBytesWritten: 0,
  };

  constructor(private readonly live: () => Iterable<LinkView>) {}

  /** Records a new link. */
  opened(): void {
    this.linksTotal++;
  }

  /** Keeps the final counters of a link that closed. */
  retire(session: TunnelSession): void {
    const stats = session.stats();
    for (const key of TOTAL_KEYS) this.closed[key] += stats[key];
  }

  /** Counter totals, closed links included. */
  totals(): Totals {
    const t = { ...this.closed };
    for (const { session } of this.live()) {
      const stats = session.stats();
      for (const key of TOTAL_KEYS) t[key] += stats[key];
    }
    return t;
  }

  /** Adds the tunnel families to a registry. */
  register(registry: MetricsRegistry): void {
    const perLink = (read: (view: LinkView) => number | null) => (): Sample[] => {
      const out: Sample[] = [];
      for (const view of this.live()) {
        const value = read(view);
        if (value !== null) out.push({ labels: { link: view.label }, value });
      }
      return out;
    };
    const perStream = (read: (info: NonNullable<ReturnType<TunnelSession['framing']['streamInfo']>>) => number) => (): Sample[] => {
      const out: Sample[] = [];
      for (const { label, session } of this.live()) {
        for (const stream of session.liveStreams()) {
          const info = session.framing.streamInfo(stream.streamId);
          if (info !== undefined) out.push({ labels: { link: label, stream: String(stream.streamId) }, value: read(info) });
        }
      }
      return out;
    };
    const total = (key: keyof Totals) => () => this.totals()[key];
    registry.gauge('sluice_tunnel_links', 'Tunnel links up.', () => [...this.live()].length);
    registry.counter('sluice_tunnel_links_total', 'Tunnel links established.', () => this.linksTotal);
    registry.gauge('sluice_tunnel_streams_open', 'Streams open, per link.', perLink(({ session }) => session.streamCount));
    registry.gauge('sluice_tunnel_rtt_seconds', 'Smoothed round-trip time of keepalive pings, per link.', perLink(({ session }) => (session.rttMs === null ? null : session.rttMs / 1000)));
    registry.counter('sluice_tunnel_window_updates_total', 'Window updates that granted credit, by direction.', () => {
      const t = this.totals();
      return [
        { labels: { direction: 'sent' }, value: t.windowUpdatesSent },
        { labels: { direction: 'received' }, value: t.windowUpdatesReceived },
      ];
    });
    registry.counter('sluice_tunnel_windows_grown_total', 'Receive windows grown by auto-tuning.', total('windowsGrown'));
    registry.counter('sluice_tunnel_windows_shrunk_total', 'Receive windows auto-tuning shrank back because their consumer drained them slowly.', total('windowsShrunk'));
    registry.counter('sluice_tunnel_streams_refused_total', 'Streams the peer opened that were refused (go away, stream limit, backlog).', total('streamsRefused'));
    registry.counter('sluice_tunnel_payload_bytes_total', 'Stream payload bytes, by direction.', () => {
      const t = this.totals();
      return [
        { labels: { direction: 'sent' }, value: t.bytesSent },
        { labels: { direction: 'received' }, value: t.bytesDelivered },
      ];
    });
    registry.counter('sluice_tunnel_link_bytes_total', 'Bytes on the links, frames and all, by direction.', () => {
      const t = this.totals();
      return [
        { labels: { direction: 'read' }, value: t.linkBytesRead },
        { labels: { direction: 'written' }, value: t.linkBytesWritten },
      ];
    });
    registry.gauge('sluice_tunnel_stream_recv_window_bytes', 'Receive window of each live stream (auto-tuned).', perStream((i) => i.recvWindowBytes));
    registry.gauge('sluice_tunnel_stream_send_window_bytes', 'Credit the peer has granted each live stream and we have not used.', perStream((i) => i.sendCreditBytes));
    registry.gauge('sluice_tunnel_stream_buffered_bytes', 'Bytes received on each live stream and not yet taken onward.', perStream((i) => i.recvBufferedBytes));
  }
}
