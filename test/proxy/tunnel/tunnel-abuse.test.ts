import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  Flag,
  FrameDecoder,
  FrameType,
  GoAwayCode,
  INITIAL_STREAM_WINDOW_BYTES,
  UINT32_MAX,
  describeFrame,
  encodeHeader,
  type FrameHeader,
} from '../../../windowing/index.js';
import {
  HandshakeTimeoutError,
  TunnelProtocolError,
  TunnelClient,
  TunnelServer,
  TunnelSession,
  type TunnelServerOptions,
  type TunnelStream,
} from '../../../proxy/index.js';
import { loadTlsFiles, serverTlsOptions } from '../../../proxy/index.js';
import { resourceBaseline, settledSince } from '../../helpers/handles.js';
import { makePki, pkiUnavailableReason } from '../../helpers/tls-certs.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { closeError, connectTo, listen, readAll, Resources, until, writeAll } from '../../helpers/sockets.js';
import { HashingTarget, parseSeen } from '../../../scenarios/harness/hashing-target.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';
import { frame } from '../../helpers/wire.js';

/**
 * tunnel-server against an evil peer: a raw TCP socket writing hand-made frames (HARDENING rows
 * 2, 3, 5-8, 10, 12, 15, 16). Each case runs against a fresh server that also carries a good link
 * (a real TunnelSession with an open stream to the echo target). A violation must get a go away
 * with code 1 and the evil link closed within 1 s; a budget is tested exactly at its limit (the
 * link stays up) and one past it; the good link's stream must echo before and after; and once the
 * case is over, every socket, server and timer it created must be gone.
 */

const { Data, WindowUpdate, Ping, GoAway } = FrameType;
const { SYN, ACK, FIN, RST } = Flag;
const WINDOW = INITIAL_STREAM_WINDOW_BYTES;
const CLOSE_WITHIN_MS = 1000;

function where(at: number | string): { port: number; host: string } | { path: string } {
  return typeof at === 'number' ? { port: at, host: '127.0.0.1' } : { path: at };
}

/** A raw socket that writes whatever it is given and decodes whatever comes back. */
class EvilPeer {
  readonly frames: FrameHeader[] = [];
  lastWriteAt = 0;
  closedAt: number | null = null;
  /** When the first go away arrived: the server had seen a violation. */
  goAwayAt: number | null = null;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: UINT32_MAX });
  private readonly closed: Promise<void>;

  constructor(readonly socket: Socket, read = true) {
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = performance.now();
        resolve();
      }),
    );
    if (read) socket.on('data', (chunk: Buffer) => this.take(chunk));
  }

  /** Connects to a port on 127.0.0.1, or to a unix socket path. */
  static async connect(at: number | string, read = true): Promise<EvilPeer> {
    const socket = connect({ ...where(at), allowHalfOpen: false });
    if (!read) socket.pause();
    await once(socket, 'connect');
    return new EvilPeer(socket, read);
  }

  /** Writes frames as one chunk. */
  send(...frames: Buffer[]): void {
    this.lastWriteAt = performance.now();
    this.socket.write(Buffer.concat(frames));
  }

  /** Described frames received so far. */
  lines(): string[] {
    return this.frames.map(describeFrame);
  }

  goAwayCodes(): number[] {
    return this.frames.filter((f) => f.type === GoAway).map((f) => f.length);
  }

  /** A ping the server must answer: once its ACK is back, everything sent before was handled. */
  async barrier(opaque: number): Promise<void> {
    this.send(frame(Ping, SYN, 0, opaque));
    await until(() => this.socket.destroyed || this.frames.some((f) => f.type === Ping && f.flags === ACK && f.length === opaque), `the ACK of ping ${opaque}`);
    expect(this.socket.destroyed, 'the link was closed').to.equal(false);
  }

  /** Resolves with how long after the last write the server closed the link. */
  async closedAfterMs(): Promise<number> {
    await this.closed;
    return (this.closedAt as number) - this.lastWriteAt;
  }

  private take(chunk: Buffer): void {
    for (const part of this.decoder.push(chunk)) {
      if (!part.start) continue;
      this.frames.push(part.header);
      if (part.header.type === GoAway) this.goAwayAt ??= performance.now();
    }
  }
}

/** A TunnelServer to an echo target, with one good link holding an open stream. */
interface Rig {
  server: TunnelServer;
  /** Where links connect: a port on 127.0.0.1, or a unix socket path. */
  at: number | string;
  /** Echoes a message on the good link's open stream and (unless told not to: its target slot may be taken) on a fresh one. */
  goodLinkWorks(fresh?: boolean): Promise<void>;
  /** The server-side session of the link that connects next (call before connecting). */
  nextLink(): Promise<TunnelSession>;
  close(): Promise<void>;
}

async function echo(stream: TunnelStream, text: string): Promise<string> {
  let got = '';
  const done = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
  stream.write(text);
  await done;
  return got;
}

describe('tunnel-server under abuse (an evil peer writing hand-made frames)', function () {
  this.timeout(20_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  async function rig(options: Partial<TunnelServerOptions> = {}): Promise<Rig> {
    // Echoes, except a connection whose first bytes are "half": it says "bye" and ends its side at
    // once, then reads on without ever closing (a stream left half-closed); or "flood": it sends
    // 64 MiB as fast as it is let.
    const target = res.server(
      createServer({ allowHalfOpen: true }, (s: Socket) =>
        s.once('data', (first: Buffer) => {
          if (first.toString().startsWith('half')) {
            s.end('bye');
            s.resume();
            return;
          }
          if (first.toString().startsWith('flood')) {
            // Sends as fast as it is let, up to 64 MiB.
            const chunk = Buffer.alloc(1024 * 1024, 0x5a);
            let sent = 0;
            const more = (): void => {
              while (sent < 64 * chunk.length && !s.destroyed) {
                sent += chunk.length;
                if (!s.write(chunk)) return void s.once('drain', more);
              }
            };
            s.on('error', () => {});
            more();
            return;
          }
          s.write(first);
          s.pipe(s);
        }),
      ),
    );
    const server = new TunnelServer({ listen: tcp(0), target: tcp(await listen(target)), keepaliveIntervalMs: 0, ...options });
    const address = await server.listen();
    const at = address.kind === 'tcp' ? address.port : address.path;
    const goodSocket = res.socket(connect(where(at)));
    await once(goodSocket, 'connect');
    const good = new TunnelSession(goodSocket, { role: 'dialer', keepaliveIntervalMs: 0 });
    const stream = good.open();
    stream.on('error', () => {});
    expect(await echo(stream, 'before')).to.equal('before');
    let closed = false;
    return {
      server,
      at,
      async goodLinkWorks(withFresh = true) {
        expect(good.isClosed, 'the good link is up').to.equal(false);
        expect(await echo(stream, 'after')).to.equal('after');
        if (!withFresh) return;
        const fresh = good.open();
        expect(await echo(fresh, 'fresh')).to.equal('fresh');
        fresh.destroy();
      },
      async nextLink() {
        const known = new Set(server.liveLinks());
        await until(() => server.liveLinks().some((s) => !known.has(s)), 'the next link at the server');
        return server.liveLinks().find((s) => !known.has(s))!;
      },
      async close() {
        if (closed) return;
        closed = true;
        good.destroy();
        await server.shutdown(0);
      },
    };
  }

  /** Runs a case against a fresh rig, then checks that everything it opened is gone. */
  async function withRig(options: Partial<TunnelServerOptions>, body: (r: Rig) => Promise<void>): Promise<void> {
    const before = await resourceBaseline();
    const r = await rig(options);
    try {
      await body(r);
    } finally {
      await r.close();
      await res.closeAll();
    }
    expect(await settledSince(before), 'resources left behind').to.deep.equal({});
  }

  /**
   * Connects an evil peer, runs `attack`, and expects a go away (1) with `code` and a close within
   * 1 s of the server seeing the violation (a flood of a thousand frames may take the server longer
   * than that to read on a loaded machine; what is measured is how fast the defence acts).
   */
  async function expectViolation(r: Rig, code: string, attack: (evil: EvilPeer) => Promise<void> | void, freshStream = true): Promise<void> {
    const linkAtServer = r.nextLink();
    const evil = await EvilPeer.connect(r.at);
    res.socket(evil.socket);
    const session = await linkAtServer;
    await attack(evil);
    await evil.closedAfterMs();
    expect(evil.goAwayCodes(), evil.lines().join('\n')).to.deep.equal([GoAwayCode.ProtocolError]);
    expect(evil.closedAt! - evil.goAwayAt!, 'closed within 1 s of the go away').to.be.below(CLOSE_WITHIN_MS);
    const error = await session.done;
    expect(error).to.be.instanceOf(TunnelProtocolError);
    expect((error as TunnelProtocolError).code).to.equal(code);
    await r.goodLinkWorks(freshStream);
  }

  describe('protocol violations: go away (1), the link closed within 1 s, other links unaffected', () => {
    const cases: { what: string; code: string; frames: Buffer[] }[] = [
      { what: 'a wrong version byte', code: 'ERR_UNSUPPORTED_VERSION', frames: [encodeHeader({ version: 1, type: Ping, flags: SYN, streamId: 0, length: 1 })] },
      { what: 'an unknown frame type (4)', code: 'ERR_UNKNOWN_FRAME_TYPE', frames: [encodeHeader({ type: 4 as FrameType, flags: 0, streamId: 0, length: 0 })] },
      { what: 'a SYN on an even (acceptor-parity) id from the dialer', code: 'ERR_STREAM_ID_PARITY', frames: [frame(WindowUpdate, SYN, 2, 0)] },
      { what: 'a data header announcing one byte more than the window, alone', code: 'ERR_RECV_WINDOW_EXCEEDED', frames: [frame(Data, SYN, 1, WINDOW + 1)] },
      { what: 'a data header announcing 4 GiB, alone', code: 'ERR_FRAME_TOO_LARGE', frames: [frame(Data, SYN, 1, UINT32_MAX)] },
      {
        what: 'a window update taking the send window one past 2^32-1',
        code: 'ERR_WINDOW_OVERFLOW',
        frames: [frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, 0, 1, UINT32_MAX - WINDOW + 1)],
      },
      { what: 'a ping on a stream id', code: 'ERR_INVALID_STREAM_ID', frames: [frame(WindowUpdate, SYN, 1, 0), frame(Ping, SYN, 1, 7)] },
      { what: 'a go away on a stream id', code: 'ERR_INVALID_STREAM_ID', frames: [frame(WindowUpdate, SYN, 1, 0), frame(GoAway, 0, 1, 0)] },
      { what: 'data for a stream never opened', code: 'ERR_INVALID_STREAM_ID', frames: [frame(Data, 0, 5, 3, Buffer.from('abc'))] },
      { what: 'a stream opened twice', code: 'ERR_DUPLICATE_STREAM', frames: [frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 1, 0)] },
      {
        what: 'data after the peer FIN',
        code: 'ERR_DATA_AFTER_FIN',
        frames: [frame(Data, SYN | FIN, 1, 2, Buffer.from('hi')), frame(Data, 0, 1, 2, Buffer.from('hi'))],
      },
    ];
    for (const c of cases) {
      it(`${c.what}: ${c.code}`, async () => {
        await withRig({}, (r) => expectViolation(r, c.code, (evil) => evil.send(...c.frames)));
      });
    }

    it('data exactly filling the window is taken; one more byte is ERR_RECV_WINDOW_EXCEEDED', async () => {
      // --max-conns 1, held by the good link: the evil stream waits in the queue, so none of its
      // bytes is flushed onward and no credit comes back while the case runs.
      await withRig({ maxConns: 1 }, (r) =>
        expectViolation(r, 'ERR_RECV_WINDOW_EXCEEDED', async (evil) => {
          evil.send(frame(Data, SYN, 1, WINDOW, Buffer.alloc(WINDOW, 7)));
          await evil.barrier(100);
          expect(evil.goAwayCodes()).to.deep.equal([]);
          evil.send(frame(Data, 0, 1, 1, Buffer.from('x')));
        }, false),
      );
    });

    it('a window update taking the send window exactly to 2^32-1 is taken', async () => {
      await withRig({}, async (r) => {
        const evil = await EvilPeer.connect(r.at);
        res.socket(evil.socket);
        evil.send(frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, 0, 1, UINT32_MAX - WINDOW));
        await evil.barrier(100);
        expect(evil.goAwayCodes()).to.deep.equal([]);
        await r.goodLinkWorks();
      });
    });
  });

  describe('flood budgets: exactly at the limit the link stays up, one past it is go away (1) and a close', () => {
    interface Budget {
      what: string;
      code: string;
      options?: Partial<TunnelServerOptions>;
      /** Frames that spend the budget exactly (`extra` 0) or one past it (`extra` 1). */
      frames(extra: number): Buffer[];
      /** For budgets of replies: true once the server answered all of frames(0) (so the barrier ping is not counted with them). */
      answered?(evil: EvilPeer): boolean;
    }
    const opened = frame(WindowUpdate, SYN, 1, 0);
    const empty = frame(Data, 0, 1, 0);
    const times = (n: number, make: (i: number) => Buffer): Buffer[] => Array.from({ length: n }, (_, i) => make(i));
    const budgets: Budget[] = [
      {
        what: 'empty frames in a row (default 1)',
        code: 'ERR_EMPTY_FRAME_FLOOD',
        frames: (extra) => [opened, empty, frame(Ping, SYN, 0, 9), ...times(1 + extra, () => empty)],
      },
      {
        what: 'empty frames in a row (maxConsecutiveEmptyFrames 3); zero-delta window updates count',
        code: 'ERR_EMPTY_FRAME_FLOOD',
        options: { maxConsecutiveEmptyFrames: 3 },
        frames: (extra) => [opened, empty, frame(WindowUpdate, 0, 1, 0), ...times(1 + extra, () => empty)],
      },
      {
        // 5 + 2 * (1 stream + 10 * 0 data frames sent) = 7 (Envoy's formula)
        what: 'window updates past 5 + 2 * (streams + 10 * data frames sent) (default)',
        code: 'ERR_WINDOW_UPDATE_FLOOD',
        frames: (extra) => [opened, ...times(7 + extra, () => frame(WindowUpdate, 0, 1, 1))],
      },
      {
        what: 'window updates (windowUpdatesPerDataFrame 1 after 3 data frames: 5 + 2 * (1 + 3) = 13)',
        code: 'ERR_WINDOW_UPDATE_FLOOD',
        options: { windowUpdatesPerDataFrame: 1 },
        // The echo target sends three frames back first: 3 x 100 bytes, one frame each.
        frames: (extra) => [...times(13 + extra, () => frame(WindowUpdate, 0, 1, 1))],
      },
      {
        what: 'open-then-reset churn (resetBurst 5, resetsPerSecond 0)',
        code: 'ERR_RESET_FLOOD',
        options: { resetBurst: 5, resetsPerSecond: 0 },
        frames: (extra) => times(5 + extra, (i) => frame(WindowUpdate, SYN | RST, 1 + 2 * i, 0)),
      },
      {
        what: 'open-then-reset churn (default burst 1000)',
        code: 'ERR_RESET_FLOOD',
        frames: (extra) => times(1000 + extra, (i) => frame(WindowUpdate, SYN | RST, 1 + 2 * i, 0)),
      },
      {
        what: 'pings in one read (maxQueuedControlReplies 100)',
        code: 'ERR_CONTROL_REPLY_FLOOD',
        options: { maxQueuedControlReplies: 100 },
        frames: (extra) => times(100 + extra, (i) => frame(Ping, SYN, 0, 1000 + i)),
        answered: (evil) => evil.frames.filter((f) => f.type === Ping && f.flags === ACK).length === 100,
      },
      {
        what: 'stream refusals past the limit in one read (maxStreams 2, maxQueuedControlReplies 10)',
        code: 'ERR_CONTROL_REPLY_FLOOD',
        options: { maxStreams: 2, maxQueuedControlReplies: 10 },
        // Streams are counted per link: 2 open here, then 10 refused (RST replies) is the cap.
        frames: (extra) => times(12 + extra, (i) => frame(WindowUpdate, SYN, 1 + 2 * i, 0)),
        answered: (evil) => evil.frames.filter((f) => f.type === WindowUpdate && f.flags === RST).length === 10,
      },
    ];

    for (const b of budgets) {
      const prepare = async (evil: EvilPeer): Promise<void> => {
        if (b.options?.windowUpdatesPerDataFrame === undefined) return;
        evil.send(frame(Data, SYN, 1, 100, Buffer.alloc(100, 1)));
        await until(() => evil.frames.filter((f) => f.type === Data).length === 1, 'the first echo');
        evil.send(frame(Data, 0, 1, 100, Buffer.alloc(100, 2)));
        await until(() => evil.frames.filter((f) => f.type === Data).length === 2, 'the second echo');
        evil.send(frame(Data, 0, 1, 100, Buffer.alloc(100, 3)));
        await until(() => evil.frames.filter((f) => f.type === Data).length === 3, 'the third echo');
      };

      it(`${b.what}: at the limit the link stays up`, async () => {
        await withRig(b.options ?? {}, async (r) => {
          const evil = await EvilPeer.connect(r.at);
          res.socket(evil.socket);
          await prepare(evil);
          evil.send(...b.frames(0));
          if (b.answered) await until(() => b.answered!(evil) || evil.socket.destroyed, 'the replies');
          await evil.barrier(77);
          expect(evil.goAwayCodes()).to.deep.equal([]);
          await r.goodLinkWorks();
        });
      });

      it(`${b.what}: one past it, ${b.code}`, async () => {
        await withRig(b.options ?? {}, (r) =>
          expectViolation(r, b.code, async (evil) => {
            await prepare(evil);
            evil.send(...b.frames(1));
          }),
        );
      });
    }

    it('streams past --max-streams are refused with RST; the link stays up (maxStreams 3)', async () => {
      await withRig({ maxStreams: 3 }, async (r) => {
        const evil = await EvilPeer.connect(r.at);
        res.socket(evil.socket);
        evil.send(frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 3, 0), frame(WindowUpdate, SYN, 5, 0));
        await until(() => evil.frames.filter((f) => f.type === WindowUpdate && f.flags === ACK).length === 3, 'three ACKs');
        evil.send(frame(WindowUpdate, SYN, 7, 0));
        await evil.barrier(5);
        const verdicts = evil.lines().filter((l) => l.startsWith('WINDOW_UPDATE'));
        expect(verdicts).to.deep.equal([
          'WINDOW_UPDATE stream=1 flags=ACK delta=0',
          'WINDOW_UPDATE stream=3 flags=ACK delta=0',
          'WINDOW_UPDATE stream=5 flags=ACK delta=0',
          'WINDOW_UPDATE stream=7 flags=RST delta=0',
        ]);
        expect(evil.goAwayCodes()).to.deep.equal([]);
        await r.goodLinkWorks();
      });
    });

    it('streams past the accept backlog are refused with RST (acceptBacklog 2, the target slot held)', async () => {
      await withRig({ acceptBacklog: 2, maxConns: 1 }, async (r) => {
        const evil = await EvilPeer.connect(r.at);
        res.socket(evil.socket);
        evil.send(frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 3, 0));
        await evil.barrier(5);
        expect(evil.lines().filter((l) => l.startsWith('WINDOW_UPDATE'))).to.deep.equal([]);
        evil.send(frame(WindowUpdate, SYN, 5, 0));
        await evil.barrier(6);
        expect(evil.lines().filter((l) => l.startsWith('WINDOW_UPDATE'))).to.deep.equal(['WINDOW_UPDATE stream=5 flags=RST delta=0']);
        expect(evil.goAwayCodes()).to.deep.equal([]);
        await r.goodLinkWorks(false);
      });
    });

    it('a peer that grants a 4 GiB window and never reads while the target floods: what the server holds stays bounded', async () => {
      await withRig({}, async (r) => {
        const linkAtServer = r.nextLink();
        const evil = await EvilPeer.connect(r.at, false);
        res.socket(evil.socket);
        const session = await linkAtServer;
        evil.send(frame(Data, SYN, 1, 5, Buffer.from('flood')), frame(WindowUpdate, 0, 1, UINT32_MAX - WINDOW));
        // Wait until nothing moves any more: every buffer on the way is as full as it gets.
        let last = -1;
        for (let quiet = 0; quiet < 20; ) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          const moved = session.stats().linkBytesWritten;
          quiet = moved === last ? quiet + 1 : 0;
          last = moved;
        }
        expect(session.stats().linkBytesWritten, 'the server sent a lot before it stopped').to.be.above(1024 * 1024);
        expect(session.link.writableLength, 'bytes queued on the link').to.be.at.most(512 * 1024);
        expect(r.server.table.bufferedBytes(), 'bytes held between target and stream').to.be.at.most(512 * 1024);
        await r.goodLinkWorks();
        // (Left open, the link would take the 5 s close linger at shutdown: it cannot be flushed.)
        evil.socket.destroy();
      });
    });

    it('200k pings written without reading a reply: the link is closed within 1 s, memory stays bounded', async () => {
      await withRig({}, async (r) => {
        const linkAtServer = r.nextLink();
        const evil = await EvilPeer.connect(r.at, false);
        res.socket(evil.socket);
        const session = await linkAtServer;
        const rssBefore = process.memoryUsage().rss;
        const pings = Buffer.alloc(200_000 * 12);
        for (let i = 0; i < 200_000; i++) frame(Ping, SYN, 0, i).copy(pings, i * 12);
        evil.send(pings);
        // The peer reads nothing, so it cannot tell: the close is timed at the server.
        const error = await session.done;
        expect(performance.now() - evil.lastWriteAt).to.be.below(CLOSE_WITHIN_MS);
        expect((error as TunnelProtocolError).code).to.equal('ERR_CONTROL_REPLY_FLOOD');
        expect((process.memoryUsage().rss - rssBefore) / 1e6, 'RSS growth in MB').to.be.below(64);
        await r.goodLinkWorks();
      });
    });

    it('pings trickled in (50 a read, over a unix socket) while never reading: closed once the replies back up past the cap, within 1 s of the error', async () => {
      // A unix socket, whose kernel buffers fill far sooner than loopback TCP's (tens of MB).
      const path = join(mkdtempSync(join(tmpdir(), 'sluice-abuse-')), 'link.sock');
      res.defer(() => rmSync(dirname(path), { recursive: true, force: true }));
      await withRig({ listen: { kind: 'unix', path } }, async (r) => {
        const linkAtServer = r.nextLink();
        const evil = await EvilPeer.connect(r.at, false);
        res.socket(evil.socket);
        const session = await linkAtServer;
        let sent = 0;
        let erredAt: number | null = null;
        // Once our kernel buffers and the peer's are full, the replies wait in the link's write
        // queue; past 1000 unflushed the session fails, and its go away cannot be flushed either.
        while (!session.isClosed && sent < 4_000_000) {
          const batch = Buffer.alloc(50 * 12);
          for (let i = 0; i < 50; i++) frame(Ping, SYN, 0, sent + i).copy(batch, i * 12);
          sent += 50;
          evil.send(batch);
          await new Promise((resolve) => setImmediate(resolve));
          if (erredAt === null && session.error !== null) erredAt = performance.now();
        }
        const error = await session.done;
        expect((error as TunnelProtocolError).code).to.equal('ERR_CONTROL_REPLY_FLOOD');
        expect(erredAt, 'the error was seen before the close').to.not.equal(null);
        expect(performance.now() - erredAt!, 'closed within 1 s of the error').to.be.below(CLOSE_WITHIN_MS);
        await r.goodLinkWorks();
      });
    });
  });

  describe('deadlines', () => {
    it('a link that connects and sends nothing is closed at the handshake deadline (handshakeTimeoutMs 300)', async () => {
      await withRig({ handshakeTimeoutMs: 300 }, async (r) => {
        const linkAtServer = r.nextLink();
        const connectedAt = performance.now();
        const silent = await EvilPeer.connect(r.at);
        res.socket(silent.socket);
        const session = await linkAtServer;
        silent.lastWriteAt = connectedAt;
        const afterMs = await silent.closedAfterMs();
        expect(afterMs).to.be.at.least(290).and.below(CLOSE_WITHIN_MS);
        expect(await session.done).to.be.instanceOf(HandshakeTimeoutError);
        await r.goodLinkWorks();
      });
    });

    it('a TLS link that never completes its handshake is closed at the deadline (handshakeTimeoutMs 300)', async function () {
      const pki = makePki();
      if (!pki) {
        console.log(`      skipped: ${pkiUnavailableReason()}`);
        this.skip();
      }
      res.defer(() => pki.remove());
      // No handshakeTimeout of its own: the server's handshakeTimeoutMs applies to TLS too.
      const { handshakeTimeout: _, ...tls } = serverTlsOptions(loadTlsFiles({ certPath: pki.server.cert, keyPath: pki.server.key, caPath: pki.ca }), 1);
      const before = await resourceBaseline();
      const target = res.server(createServer());
      const server = new TunnelServer({ listen: tcp(0), target: tcp(await listen(target)), tls, handshakeTimeoutMs: 300 });
      const address = await server.listen();
      const silent = await EvilPeer.connect(address.kind === 'tcp' ? address.port : 0);
      res.socket(silent.socket);
      silent.lastWriteAt = performance.now();
      const afterMs = await silent.closedAfterMs();
      expect(afterMs).to.be.at.least(290).and.below(CLOSE_WITHIN_MS);
      expect(silent.frames).to.deep.equal([]);
      await server.shutdown(0);
      await res.closeAll();
      expect(await settledSince(before), 'resources left behind').to.deep.equal({});
    });

    it('a link that answers the first ping is past the handshake and stays up (handshakeTimeoutMs 300)', async () => {
      await withRig({ handshakeTimeoutMs: 300 }, async (r) => {
        const evil = await EvilPeer.connect(r.at);
        res.socket(evil.socket);
        await until(() => evil.frames.length > 0, 'the first ping');
        expect(evil.lines()[0]).to.equal('PING stream=0 flags=SYN opaque=1');
        evil.send(frame(Ping, ACK, 0, 1));
        await new Promise((resolve) => setTimeout(resolve, 500));
        await evil.barrier(2);
        expect(evil.goAwayCodes()).to.deep.equal([]);
      });
    });

    it('a stream left half-closed is reset once halfCloseTimeoutMs passes (300 ms)', async () => {
      await withRig({ halfCloseTimeoutMs: 300 }, async (r) => {
        const evil = await EvilPeer.connect(r.at);
        res.socket(evil.socket);
        const ends = (flag: number) => evil.frames.some((f) => f.streamId === 1 && (f.flags & flag) !== 0);
        evil.send(frame(Data, SYN, 1, 4, Buffer.from('half')));
        await until(() => ends(FIN), "the target's FIN");
        const finAt = performance.now();
        await until(() => ends(RST), 'the reset');
        const afterMs = performance.now() - finAt;
        expect(afterMs).to.be.at.least(250).and.below(CLOSE_WITHIN_MS);
        expect(evil.goAwayCodes()).to.deep.equal([]);
        await evil.barrier(3);
      });
    });
  });

  describe('faults, each leaving nothing behind (tunnel-client -> tunnel-server, in process)', () => {
    async function withTunnel(target: Server, serverOptions: Partial<TunnelServerOptions>, body: (t: Tunnel) => Promise<void>): Promise<void> {
      const before = await resourceBaseline();
      const t = await startTunnel(tcp(await listen(res.server(target))), serverOptions);
      try {
        await body(t);
      } finally {
        await t.close();
        await res.closeAll();
      }
      expect(await settledSince(before), 'resources left behind').to.deep.equal({});
    }

    it('the link drops mid-stream: its streams are reset, the link is dialled again, new connections are served', async () => {
      await withTunnel(createServer({ allowHalfOpen: true }, (s: Socket) => s.pipe(s)), {}, async (t) => {
        await until(() => t.client.pool.linksUp === 1, 'the link');
        const mid = res.socket(await connectTo(t.port));
        mid.write(randomBytes(512 * 1024, 1));
        await until(() => t.server.table.active === 1, 'the stream at the server');
        const reset = closeError(mid);
        t.server.liveLinks()[0]!.link.destroy();
        expect((await reset)?.code).to.equal('ECONNRESET');
        await until(() => t.linkLines.filter((l) => l === 'client: link 0 up').length === 2, 'the link dialled again');
        const after = res.socket(await connectTo(t.port));
        const echoed = readAll(after);
        const data = randomBytes(300_000, 2);
        after.end(data);
        expect(await echoed).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
      });
    });

    it('a target that resets mid-stream resets that client only; the link and the other streams carry on', async () => {
      let n = 0;
      const target = createServer({ allowHalfOpen: true }, (s: Socket) => {
        s.on('error', () => {});
        if (n++ === 0) s.once('data', () => s.resetAndDestroy());
        else s.pipe(s);
      });
      await withTunnel(target, {}, async (t) => {
        const doomed = res.socket(await connectTo(t.port));
        const reset = closeError(doomed);
        doomed.write('first');
        expect((await reset)?.code).to.equal('ECONNRESET');
        const others = await Promise.all(
          [3, 4, 5].map(async (seed) => {
            const c = res.socket(await connectTo(t.port));
            const got = readAll(c);
            const data = randomBytes(1024 * 1024, seed);
            c.end(data);
            return { got: await got, want: { bytes: data.length, sha256: sha256(data) } };
          }),
        );
        for (const o of others) expect(o.got).to.deep.equal(o.want);
        expect(t.client.pool.linksUp).to.equal(1);
      });
    });

    it('shutdown with transfers in flight: everything before the deadline arrives intact, then both sides close', async () => {
      const target = new HashingTarget(res);
      await withTunnel(target.server, {}, async (t) => {
        const transfers = [11, 12, 13, 14].map(async (seed) => {
          const data = randomBytes(2 * 1024 * 1024, seed);
          const c = res.socket(await connectTo(t.port));
          const reply = readAll(c);
          const chunks: Buffer[] = [];
          c.on('data', (d: Buffer) => chunks.push(d));
          await writeAll(c, [data]);
          await reply;
          return { seen: parseSeen(Buffer.concat(chunks)), want: { bytes: data.length, sha256: sha256(data) } };
        });
        await until(() => t.server.table.active === 4, 'four streams at the server');
        const shutdown = t.server.shutdown(10_000);
        const results = await Promise.all(transfers);
        for (const r of results) expect(r.seen).to.deep.equal(r.want);
        await shutdown;
      });
    });

    it('tunnel-client against a server that breaks the protocol: go away (1), its link closed and dialled again', async () => {
      const before = await resourceBaseline();
      let links = 0;
      const sawGoAway: number[] = [];
      const evilServer = res.server(
        createServer((s: Socket) => {
          links++;
          s.on('error', () => {});
          const decoder = new FrameDecoder({ maxFrameBytes: UINT32_MAX });
          s.on('data', (d: Buffer) => {
            for (const part of decoder.push(d)) if (part.start && part.header.type === GoAway) sawGoAway.push(part.header.length);
          });
          s.write(encodeHeader({ version: 7, type: Ping, flags: SYN, streamId: 0, length: 1 }));
        }),
      );
      const client = new TunnelClient({ listen: tcp(0), server: tcp(await listen(evilServer)), backoff: { initialMs: 20, maxMs: 40 } });
      await client.listen();
      await until(() => links >= 2 && sawGoAway.length >= 2, 'two links, each answered with a go away');
      expect(sawGoAway.slice(0, 2)).to.deep.equal([GoAwayCode.ProtocolError, GoAwayCode.ProtocolError]);
      expect(client.pool.linksUp).to.equal(0);
      await client.shutdown(0);
      await res.closeAll();
      expect(await settledSince(before), 'resources left behind').to.deep.equal({});
    });
  });
});
