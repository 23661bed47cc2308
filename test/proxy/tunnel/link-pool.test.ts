import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import sinon from 'sinon';
import { TunnelSession, type TunnelStream } from '../../../proxy/index.js';
import { LinkPool } from '../../../proxy/tunnel/link-pool.js';
import { listen, Resources, until } from '../../helpers/sockets.js';
import { tcp } from '../../helpers/tunnel.js';
import { frame } from '../../helpers/wire.js';
import { Flag, FrameType } from '../../../windowing/index.js';

/** A yamux acceptor on every connection, answering pings (what a link needs to count as up). */
function acceptorServer(res: Resources, sessions: TunnelSession[]): Server {
  return res.server(
    createServer((socket: Socket) => {
      const s = new TunnelSession(socket, { role: 'acceptor', keepaliveIntervalMs: 0 });
      sessions.push(s);
      s.on('stream', (stream: TunnelStream) => stream.on('error', () => {}));
    }),
  );
}

/** A loopback port nothing listens on (until the test listens there itself). */
async function unusedPort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe('LinkPool (reconnect with backoff; fake timers, real sockets)', () => {
  const res = new Resources();
  let clock: sinon.SinonFakeTimers | null = null;
  let pool: LinkPool | null = null;
  afterEach(async () => {
    clock?.restore();
    clock = null;
    pool?.destroy();
    pool = null;
    await res.closeAll();
  });

  it('dials again after 100, 200, 400, 800 ms while the server is down, saying so twice, not per attempt, then starts over once a link stayed up for the longest delay (10 s)', async () => {
    const freePort = await unusedPort();

    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const lines: string[] = [];
    pool = new LinkPool({
      server: tcp(freePort),
      links: 1,
      connectTimeoutMs: 5_000,
      tls: null,
      random: () => 0.5, // the middle of the jitter band: the bare schedule
      now: () => clock!.now,
      session: { keepaliveIntervalMs: 0 },
      onLog: (l) => lines.push(l),
    });
    pool.start();
    const refusedAfter = async (n: number) => until(() => pool!.reconnects === n, `dial ${n}`);
    await refusedAfter(1);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^link 0 cannot connect: .*ECONNREFUSED.*; retrying in 100 ms$/);
    await clock.tickAsync(99);
    expect(pool.reconnects).to.equal(1);
    await clock.tickAsync(1);
    await refusedAfter(2);
    await clock.tickAsync(199);
    expect(pool.reconnects).to.equal(2);
    await clock.tickAsync(1);
    await refusedAfter(3);
    // The same failure is told once more (that it goes on), then not per attempt.
    expect(lines).to.have.length(2);
    expect(lines[1]).to.match(/^link 0 cannot connect: .*ECONNREFUSED.* again; retrying with backoff up to 10000 ms, not logged again until the failure changes or the link is up/);
    await clock.tickAsync(400);
    await refusedAfter(4);
    expect(lines).to.have.length(2);

    // The server comes back: the next attempt gets a link, which stays up for the longest delay.
    const sessions: TunnelSession[] = [];
    const server = acceptorServer(res, sessions);
    await new Promise<void>((r) => server.listen(freePort, '127.0.0.1', () => r()));
    await clock.tickAsync(800);
    await until(() => lines.includes('link 0 up'), 'the link');
    expect(pool.linksUp).to.equal(1);
    await clock.tickAsync(10_000);
    sessions[0]!.destroy();
    await until(() => lines.length === 4, 'the loss');
    expect(lines[3]).to.equal('link 0 lost: the server closed it; retrying in 100 ms');
  });

  /** A server that answers the first ping, then does `then` to the link (drop it, go away). */
  function answersThen(then: (socket: Socket) => void): Server {
    return res.server(
      createServer((socket: Socket) => {
        socket.on('error', () => {});
        socket.once('data', (chunk: Buffer) => {
          // The client's first bytes are its ping (12 bytes, type 2, flag SYN): answer it with an ACK.
          const reply = Buffer.from(chunk.subarray(0, 12));
          reply.writeUInt16BE(Flag.ACK, 2);
          socket.write(reply);
          setImmediate(() => then(socket));
        });
      }),
    );
  }

  for (const [what, then, line] of [
    ['drops it', (s: Socket) => s.destroy(), (ms: number) => new RegExp(`^link 0 lost: .*; retrying in ${ms} ms$`)],
    ['says go away (0)', (s: Socket) => s.write(frame(FrameType.GoAway, 0, 0, 0)), (ms: number) => new RegExp(`^link 0 lost: the server is going away \\d+ ms after the link came up; retrying in ${ms} ms$`)],
  ] as const) {
    it(`a server that answers the first ping and at once ${what} is redialled after 100, 200, 400 ms, not in a storm`, async () => {
      const port = await listen(answersThen(then));
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const lines: string[] = [];
      pool = new LinkPool({ server: tcp(port), links: 1, connectTimeoutMs: 5_000, tls: null, random: () => 0.5, now: () => clock!.now, session: { keepaliveIntervalMs: 0 }, onLog: (l) => lines.push(l) });
      pool.start();
      for (const delayMs of [100, 200, 400]) {
        await until(() => lines.length >= 2 && lines.at(-2) === 'link 0 up' && /retrying/.test(lines.at(-1)!), `the loss before ${delayMs} ms`);
        expect(lines.at(-1)).to.match(line(delayMs));
        const seen = lines.length;
        await clock.tickAsync(delayMs - 1);
        expect(lines, 'no dial before the delay').to.have.length(seen);
        await clock.tickAsync(1);
        await until(() => lines.length >= seen + 2, 'the next link');
      }
      expect(lines.at(-1)).to.match(line(800));
      expect(pool.reconnects).to.equal(4);
    });
  }

  it('a server going away after the link stayed up 10 s gets a fresh link at once, the backoff started over', async () => {
    const sessions: TunnelSession[] = [];
    const port = await listen(acceptorServer(res, sessions));
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const lines: string[] = [];
    pool = new LinkPool({ server: tcp(port), links: 1, connectTimeoutMs: 5_000, tls: null, random: () => 0.5, now: () => clock!.now, session: { keepaliveIntervalMs: 0 }, onLog: (l) => lines.push(l) });
    pool.start();
    await until(() => pool!.linksUp === 1, 'the link');
    await clock.tickAsync(10_000);
    sessions[0]!.goAway();
    await until(() => lines.length === 3, 'the fresh link, no timer needed');
    expect(lines).to.deep.equal(['link 0 up', 'link 0: the server is going away; dialling a fresh link', 'link 0 up']);
    sessions[1]!.destroy();
    await until(() => lines.length === 4, 'the loss');
    expect(lines[3]).to.match(/^link 0 lost: .*; retrying in 100 ms$/);
  });

  it('a link that never answers its first ping is dropped after the connect timeout and dialled again', async () => {
    const silent: Socket[] = [];
    const server = res.server(createServer((s) => silent.push(s)));
    const port = await listen(server);
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const lines: string[] = [];
    pool = new LinkPool({ server: tcp(port), links: 1, connectTimeoutMs: 1_000, tls: null, random: () => 0.5, session: { keepaliveIntervalMs: 0 }, onLog: (l) => lines.push(l) });
    pool.start();
    await until(() => silent.length === 1, 'the connection');
    await clock.tickAsync(999);
    expect(lines).to.deep.equal([]);
    await clock.tickAsync(1);
    await until(() => lines.length === 1, 'the refusal');
    expect(lines[0]).to.equal('link 0 refused: no reply to the first ping within 1000 ms; retrying in 100 ms');
    expect(pool.linksUp).to.equal(0);
  });

  it('waiters get a stream as soon as a link is up, or null after their wait', async () => {
    const freePort = await unusedPort();
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    pool = new LinkPool({ server: tcp(freePort), links: 1, connectTimeoutMs: 5_000, tls: null, random: () => 0.5, session: { keepaliveIntervalMs: 0 } });
    pool.start();
    const got: (string | null)[] = [];
    pool.acquire(300, (s) => got.push(s === null ? null : 'stream'));
    pool.acquire(5_000, (s) => {
      got.push(s === null ? null : 'stream');
      s?.destroy();
    });
    expect(pool.waiting).to.equal(2);
    await clock.tickAsync(300);
    expect(got).to.deep.equal([null]);
    const sessions: TunnelSession[] = [];
    const server = acceptorServer(res, sessions);
    await new Promise<void>((r) => server.listen(freePort, '127.0.0.1', () => r()));
    await clock.tickAsync(1_000);
    await until(() => got.length === 2, 'the second waiter');
    expect(got).to.deep.equal([null, 'stream']);
    expect(pool.waiting).to.equal(0);
  });

  it('a waiter for a link full of unacknowledged streams gets a stream as soon as the server acknowledges one, without any closing', async () => {
    const sessions: TunnelSession[] = [];
    const server = res.server(
      createServer((socket: Socket) => {
        const s = new TunnelSession(socket, { role: 'acceptor', keepaliveIntervalMs: 0, autoAccept: false });
        sessions.push(s);
      }),
    );
    const port = await listen(server);
    pool = new LinkPool({ server: tcp(port), links: 1, connectTimeoutMs: 5_000, tls: null, session: { keepaliveIntervalMs: 0, acceptBacklog: 2 } });
    pool.start();
    const peer: TunnelStream[] = [];
    await until(() => sessions.length === 1, 'the link');
    sessions[0]!.on('stream', (s: TunnelStream) => peer.push(s));
    const got: (TunnelStream | null)[] = [];
    for (let i = 0; i < 3; i++) pool.acquire(20_000, (s) => got.push(s));
    await until(() => got.length === 2 && peer.length === 2, 'two streams, the backlog full');
    expect(pool.waiting).to.equal(1);
    expect(peer[0]!.accept()).to.equal(true);
    await until(() => got.length === 3, 'the third stream');
    expect(got.every((s) => s !== null)).to.equal(true);
    expect(pool.waiting).to.equal(0);
    for (const s of [...got, ...peer]) s?.destroy();
  });

  it('past links x --max-streams a wait ends with why (the stream limit), and the pool says so at most once a minute', async () => {
    const sessions: TunnelSession[] = [];
    const port = await listen(acceptorServer(res, sessions));
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let nowMs = 0;
    const lines: string[] = [];
    pool = new LinkPool({ server: tcp(port), links: 1, connectTimeoutMs: 5_000, tls: null, now: () => nowMs, session: { keepaliveIntervalMs: 0, maxStreams: 1 }, onLog: (l) => lines.push(l) });
    pool.start();
    await until(() => pool!.linksUp === 1, 'the link');
    const got: (string | undefined)[] = [];
    const acquire = () => pool!.acquire(1_000, (s, why) => got.push(s === null ? why : 'stream'));
    acquire();
    acquire();
    acquire();
    expect(got).to.deep.equal(['stream']);
    const limitLine =
      'every link is at its stream limit (1 streams on each of 1 link: --max-streams, --links); new connections wait up to 1000 ms (--link-wait) for a stream to close, then are closed';
    expect(lines).to.deep.equal(['link 0 up', limitLine]);
    await clock.tickAsync(1_000);
    expect(got).to.deep.equal(['stream', 'stream-limit', 'stream-limit']);
    expect(pool.waitTimeouts).to.deep.equal({ 'stream-limit': 2, 'backlog-full': 0, 'no-link': 0 });
    nowMs += 59_999;
    acquire();
    expect(lines).to.have.length(2);
    nowMs += 1;
    acquire();
    expect(lines).to.deep.equal(['link 0 up', limitLine, limitLine]);
  });
});
