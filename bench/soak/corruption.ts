/**
 * Diagnostics for a session that received bytes it did not send: which byte ranges are wrong, and
 * whether each wrong range is its own data from elsewhere (reordered or repeated) or another
 * recent session's (crossed streams), and which session that was (route, local port, mode).
 */

/** What is kept of a session so that another's wrong bytes can be traced back to it. */
export interface RecentSession {
  id: number;
  route: number;
  /** The client's local port, once connected (to find it in access logs). */
  localPort: number | undefined;
  mode: string;
  client: string;
  data: Buffer;
}

/** How many wrong ranges a description lists; the count of wrong bytes covers them all. */
const RANGES_LISTED = 6;

/** How much of a wrong range is looked for elsewhere; shorter windows match by chance. */
const WINDOW_BYTES = 48;
const SHORTEST_FOREIGN_MATCH = 16;

/** The last few sessions' data (a ring), to tell where a corrupt session's wrong bytes came from. */
export class RecentSessions {
  private readonly kept: RecentSession[] = [];
  private nextId = 1;

  constructor(private readonly capacity: number) {}

  /** Keeps a new session (dropping the oldest beyond capacity) and returns its entry, id assigned. */
  add(session: Omit<RecentSession, 'id' | 'localPort'>): RecentSession {
    const entry: RecentSession = { ...session, id: this.nextId++, localPort: undefined };
    this.kept.push(entry);
    if (this.kept.length > this.capacity) this.kept.shift();
    return entry;
  }

  /**
   * "badBytes=N ranges=[from..to) len=L ownAt=P foreign=#id(...)@Q ...": the wrong ranges of got
   * against sent (a run of wrong bytes continues over a single byte that matches by chance), and
   * where each range's first bytes occur in the session's own data (-1: nowhere) and in the others'.
   */
  describe(sent: Buffer, got: Buffer, selfId: number): string {
    const ranges: string[] = [];
    let bad = 0;
    const common = Math.min(sent.length, got.length);
    for (let i = 0; i < common; ) {
      if (sent[i] === got[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j < common && (sent[j] !== got[j] || (j + 1 < common && sent[j + 1] !== got[j + 1]))) j++;
      bad += j - i;
      if (ranges.length < RANGES_LISTED) ranges.push(`[${i}..${j}) len=${j - i}${this.whereFrom(sent, got.subarray(i, Math.min(i + WINDOW_BYTES, got.length)), selfId)}`);
      i = j;
    }
    const extra = got.length > sent.length ? ` extra=${got.length - sent.length} bytes past the end${this.whereFrom(sent, got.subarray(sent.length, sent.length + WINDOW_BYTES), selfId)}` : '';
    return `badBytes=${bad} ranges=${ranges.join(' ') || '(none)'}${extra}`;
  }

  private whereFrom(sent: Buffer, window: Buffer, selfId: number): string {
    let text = ` ownAt=${sent.indexOf(window)}`;
    if (window.length < SHORTEST_FOREIGN_MATCH) return text;
    for (const other of this.kept) {
      if (other.id === selfId) continue;
      const at = other.data.indexOf(window);
      if (at >= 0) text += ` foreign=#${other.id}(route ${other.route} local ${other.localPort} ${other.mode}/${other.client} size ${other.data.length})@${at}`;
    }
    return text;
  }
}

/** Follows a received stream against what was sent and notes the first byte that differs. */
export class PrefixCheck {
  received = 0;
  /** Offset of the first wrong byte (sent.length if more arrived than was sent), -1 while all is right. */
  firstBad = -1;
  private readonly chunks: Buffer[] = [];

  constructor(private readonly sent: Buffer) {}

  /** Whether everything received so far is a prefix of what was sent. */
  get ok(): boolean {
    return this.firstBad < 0;
  }

  /** Takes the next received chunk. */
  push(d: Buffer): void {
    if (this.ok) {
      const expected = this.sent.subarray(this.received, this.received + d.length);
      if (!expected.equals(d.subarray(0, expected.length))) {
        let k = 0;
        while (d[k] === expected[k]) k++;
        this.firstBad = this.received + k;
      } else if (expected.length < d.length) this.firstBad = this.sent.length;
    }
    this.chunks.push(d);
    this.received += d.length;
  }

  /** Everything received, in one buffer. */
  all(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
