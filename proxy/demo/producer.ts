import { connect, type Socket } from 'node:net';
import { encodeMessage } from './messages.js';

/** How the producer did. */
export interface ProducerStats {
  /** Messages offered: sent + shed + heldUpstream. */
  offered: number;
  /** Messages written to the socket. */
  sent: number;
  /** Messages the producer dropped itself because sluice said to back off (503). */
  shed: number;
  /**
   * Messages the producer could not send because it was held back (write() had said false): in
   * a real system they pile up in the producer or its own callers.
   */
  heldUpstream: number;
}

/** Options: the offered rate, and an optional gate asked before each batch (false = shed it). */
export interface ProducerOptions {
  /** Unix socket path of whatever sits in front of the consumer. */
  path: string;
  messagesPerS: number;
  /** Asked every tick; false means the instance is shedding load: drop this batch at the source. */
  admit?: () => boolean;
}

/**
 * The fast producer: offers `messagesPerS` in batches every 10 ms. It honours backpressure: while
 * the socket's write() has returned false it waits for 'drain' and the ticks in between produce
 * nothing (a blocked producer), which is what "held back" looks like from upstream.
 */
export class Producer {
  readonly stats: ProducerStats = { offered: 0, sent: 0, shed: 0, heldUpstream: 0 };
  private readonly socket: Socket;
  private timer: NodeJS.Timeout | null = null;
  private blocked = false;
  private seq = 0;

  constructor(private readonly options: ProducerOptions) {
    this.socket = connect(options.path);
    this.socket.on('error', () => {});
    this.socket.on('drain', () => (this.blocked = false));
  }

  /** Starts offering messages. */
  start(): void {
    const perTick = this.options.messagesPerS / 100;
    let owed = 0;
    this.timer = setInterval(() => {
      owed += perTick;
      const n = Math.floor(owed);
      owed -= n;
      this.stats.offered += n;
      // Told to back off: shed at the source (a balancer would send these elsewhere).
      if (this.options.admit && !this.options.admit()) {
        this.stats.shed += n;
        return;
      }
      if (this.blocked) {
        this.stats.heldUpstream += n;
        return;
      }
      const now = performance.now();
      let batch = '';
      for (let i = 0; i < n; i++) batch += encodeMessage(this.seq++, now);
      this.stats.sent += n;
      if (!this.socket.write(batch)) this.blocked = true;
    }, 10);
  }

  /** Stops producing and closes the connection. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.socket.destroy();
  }
}
