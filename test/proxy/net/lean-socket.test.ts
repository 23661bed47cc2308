import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import sinon from 'sinon';
import { findGc } from '../../../proxy/memory/full-gc.js';
import { LeanSocket, leanTcp } from '../../../proxy/net/lean-socket.js';
import { parseAddress } from '../../../proxy/net/address.js';
import { RelayServer } from '../../../proxy/relay/relay-server.js';
import { randomSplit } from '../../helpers/chunking.js';
import { closed, connectTo, listen, nextConnection, readAll, Resources, until, writeAll } from '../../helpers/sockets.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An onread hook collecting what a LeanSocket reads, into one reused buffer. */
function collector(size = 4096): { onread: { buffer: () => Buffer; callback: (n: number, b: Buffer) => boolean }; bytes: () => Buffer; reads: number } {
  const buffer = Buffer.alloc(size);
  const parts: Buffer[] = [];
  const state = {
    reads: 0,
    onread: {
      buffer: () => buffer,
      callback: (n: number, b: Buffer) => {
        state.reads++;
        parts.push(Buffer.from(b.subarray(0, n)));
        return true;
      },
    },
    bytes: () => Buffer.concat(parts),
  };
  return state;
}

describe('LeanSocket (the relay on raw TCP handles)', function () {
  if (process.platform !== 'linux') return;
  const res = new Resources();
  const leans: LeanSocket[] = [];
  // Each socket's handle object, as long as the socket lives (a closed socket lets go of it).
  const handleOf = new WeakMap<LeanSocket, object>();
  afterEach(async () => {
    sinon.restore();
    for (const s of leans.splice(0)) if (!s.closed) {
      s.on('error', () => {});
      s.destroy();
      await new Promise((r) => s.once('close', r));
    }
    await res.closeAll();
  });

  it('is available on Linux with this Node', () => {
    expect(leanTcp).to.not.equal(null);
  });

  /** A LeanSocket connected to a fresh net server, and the server's side. */
  async function dialled(hwm?: number): Promise<{ lean: LeanSocket; peer: Socket; server: Server }> {
    const server = res.server(createServer({ allowHalfOpen: true }));
    const port = await listen(server);
    const accepted = nextConnection(server);
    const lean = leanTcp!.connect('127.0.0.1', port, hwm);
    handleOf.set(lean, lean._handle!);
    leans.push(lean);
    await new Promise<void>((resolve, reject) => {
      lean.once('connect', resolve);
      lean.once('error', reject);
    });
    return { lean, peer: res.socket(await accepted), server };
  }

  it('reads through its hook and writes what it is given, byte for byte both ways (random data, random chunking)', async () => {
    const { lean, peer } = await dialled();
    const hook = collector(1500);
    lean.setOnread(hook.onread);
    lean.resume();
    const up = randomBytes(300_000);
    const down = randomBytes(200_000);
    const received = readAll(peer);
    const peerEnded = new Promise((r) => lean.once('end', r));
    void writeAll(peer, randomSplit(down, 7, 9000));
    for (const piece of randomSplit(up, 11, 9000)) lean.write(piece);
    lean.end();
    await peerEnded;
    expect(sha(hook.bytes())).to.equal(sha(down));
    expect(hook.reads).to.be.greaterThan(1); // 1500-byte buffer: many reads into the same buffer
    const got = await received;
    expect(got.bytes).to.equal(up.length);
    expect(got.sha256).to.equal(sha(up));
    // FIN both ways: it closes by itself, cleanly.
    let failed = false;
    lean.on('error', () => (failed = true));
    await new Promise((r) => lean.once('close', r));
    expect(failed).to.equal(false);
    expect(lean.readableEnded && lean.writableFinished).to.equal(true);
  });

  it('reads nothing until resumed, and a hook returning false stops reading until resume()', async () => {
    const { lean, peer } = await dialled();
    let calls = 0;
    const buffer = Buffer.alloc(64);
    lean.setOnread({ buffer: () => buffer, callback: () => (++calls, false) });
    peer.write('first');
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).to.equal(0);
    lean.resume();
    await until(() => calls === 1, 'first read');
    peer.write('second');
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).to.equal(1);
    lean.resume();
    await until(() => calls === 2, 'second read');
  });

  it('answers false past its high-water mark and emits drain once the peer has taken everything', async () => {
    const { lean, peer } = await dialled(64 * 1024);
    peer.pause();
    let full = false;
    let written = 0;
    // Small writes reach the kernel at once until its buffers fill; then they wait here.
    for (let i = 0; i < 20000 && !full; i++) {
      full = !lean.write(Buffer.alloc(16 * 1024));
      written += 16 * 1024;
    }
    expect(full).to.equal(true);
    expect(lean.writableLength).to.be.greaterThan(0);
    const drained = new Promise((r) => lean.once('drain', r));
    let read = 0;
    peer.on('data', (d: Buffer) => (read += d.length));
    peer.resume();
    await drained;
    expect(lean.writableLength).to.equal(0);
    await until(() => read === written, 'peer read everything');
  });

  it('calls write callbacks after write() returns, in order, once per write (also when corked into one writev)', async () => {
    const { lean, peer } = await dialled();
    const order: string[] = [];
    lean.cork();
    lean.write(Buffer.from('a'), () => order.push('a'));
    lean.write(Buffer.from('b'), () => order.push('b'));
    lean.write(Buffer.from('c'), () => order.push('c'));
    order.push('written');
    lean.uncork();
    lean.write(Buffer.from('d'), () => order.push('d'));
    order.push('returned');
    const got = readAll(peer);
    lean.end();
    await until(() => order.length === 6, 'callbacks');
    expect(order).to.deep.equal(['written', 'returned', 'a', 'b', 'c', 'd']);
    expect((await got).bytes).to.equal(4);
  });

  it('sends FIN after pending writes (finish), keeps reading after it (half-open), and closes once the peer ends too', async () => {
    const { lean, peer } = await dialled();
    const hook = collector();
    lean.setOnread(hook.onread);
    lean.resume();
    const finished = new Promise((r) => lean.once('finish', r));
    lean.write(Buffer.from('request'));
    lean.end();
    await finished;
    const peerGot = await readAll(peer);
    expect(peerGot.bytes).to.equal(7);
    expect(lean.closed).to.equal(false);
    peer.end('reply after our FIN');
    await closed(lean as unknown as Socket);
    expect(hook.bytes().toString()).to.equal('reply after our FIN');
  });

  it('once closed (or reset), its handle keeps nothing of it alive', async function () {
    // Node leaves a handle's close callback on the handle object, which outlives the close: a
    // callback closing over the socket would keep the socket (and all a relay hangs on it) alive
    // as long as the handle object.
    const gc = findGc();
    if (!gc) return this.skip();
    const kept: { handle: object; socket: WeakRef<LeanSocket> }[] = [];
    for (const reset of [false, true]) {
      const { lean, peer } = await dialled();
      leans.splice(leans.indexOf(lean), 1);
      const gone = new Promise((r) => lean.once('close', r));
      if (reset) lean.resetAndDestroy();
      else lean.destroy();
      await gone;
      peer.destroy();
      kept.push({ handle: (lean as unknown as { _handle: object | null })._handle ?? handleOf.get(lean)!, socket: new WeakRef(lean) });
    }
    await new Promise((r) => setImmediate(r)); // a WeakRef holds its target until the job that made it is over
    gc();
    expect(kept.map((k) => k.socket.deref())).to.deep.equal([undefined, undefined]);
    expect(kept.map((k) => typeof k.handle)).to.deep.equal(['object', 'object']); // the handles themselves are still held
  });

  it("reports the peer's reset as ECONNRESET, then closes", async () => {
    const { lean, peer } = await dialled();
    lean.setOnread(collector().onread);
    lean.resume();
    const err = new Promise<NodeJS.ErrnoException>((r) => lean.once('error', r));
    const closedWithError = new Promise<boolean>((r) => lean.once('close', r));
    peer.resetAndDestroy();
    expect((await err).code).to.equal('ECONNRESET');
    expect(await closedWithError).to.equal(true);
    expect(lean.destroyed).to.equal(true);
  });

  it('resetAndDestroy() sends a reset: the peer reads ECONNRESET', async () => {
    const { lean, peer } = await dialled();
    const peerErr = new Promise<NodeJS.ErrnoException>((r) => peer.once('error', r));
    lean.resetAndDestroy();
    await new Promise((r) => lean.once('close', r));
    expect((await peerErr).code).to.equal('ECONNRESET');
  });

  it("destroy(err) emits that error, then 'close'; writes afterwards fail through their callback", async () => {
    const { lean } = await dialled();
    const events: string[] = [];
    lean.on('error', (e) => events.push(`error:${e.message}`));
    lean.on('close', () => events.push('close'));
    lean.destroy(new Error('boom'));
    const late = new Promise<Error | null | undefined>((r) => lean.write(Buffer.from('x'), (e) => r(e)));
    await until(() => events.length === 2, 'close');
    expect(events).to.deep.equal(['error:boom', 'close']);
    expect((await late)?.message).to.match(/destroyed/);
  });

  it('a refused connect is an error named as net.connect names it', async () => {
    const server = res.server(createServer());
    const port = await listen(server);
    await new Promise<void>((r) => server.close(() => r()));
    const lean = leanTcp!.connect('127.0.0.1', port);
    leans.push(lean);
    const err = await new Promise<NodeJS.ErrnoException>((r) => lean.once('error', r));
    expect(err.code).to.equal('ECONNREFUSED');
    expect(err.syscall).to.equal('connect');
    expect(err.message).to.equal(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('writes made while connecting go out once connected, in order', async () => {
    const server = res.server(createServer({ allowHalfOpen: true }));
    const port = await listen(server);
    const accepted = nextConnection(server);
    const lean = leanTcp!.connect('127.0.0.1', port);
    leans.push(lean);
    lean.write(Buffer.from('early '));
    lean.write(Buffer.from('bytes'));
    lean.end();
    const peer = res.socket(await accepted);
    const chunks: Buffer[] = [];
    peer.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => peer.once('end', r));
    expect(Buffer.concat(chunks).toString()).to.equal('early bytes');
  });

  it('connects to an IPv6 address and names it as net.Socket does', async () => {
    const server = res.server(createServer());
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', () => resolve((server.address() as { port: number }).port));
    });
    const accepted = nextConnection(server);
    const lean = leanTcp!.connect('::1', port);
    leans.push(lean);
    await new Promise<void>((resolve, reject) => {
      lean.once('connect', resolve);
      lean.once('error', reject);
    });
    const peer = res.socket(await accepted);
    expect([lean.remoteAddress, lean.remotePort, lean.remoteFamily]).to.deep.equal(['::1', port, 'IPv6']);
    expect(lean.localPort).to.equal(peer.remotePort);
  });

  it('names both ends as net.Socket does', async () => {
    const { lean, peer } = await dialled();
    expect(lean.remoteAddress).to.equal('127.0.0.1');
    expect(lean.remotePort).to.equal(peer.localPort);
    expect(lean.localAddress).to.equal('127.0.0.1');
    expect(lean.localPort).to.equal(peer.remotePort);
    expect(lean.remoteFamily).to.equal('IPv4');
  });

  it("takes over a listener's accepts, and gives them back", async () => {
    const server = res.server(createServer({ pauseOnConnect: true }));
    const port = await listen(server);
    const accepted: LeanSocket[] = [];
    const takeover = leanTcp!.takeAccepts(server, 16384, (s) => {
      leans.push(s);
      accepted.push(s);
    });
    expect(takeover).to.not.equal(null);
    const viaNet = sinon.spy();
    server.on('connection', viaNet);
    const a = res.socket(await connectTo(port));
    await until(() => accepted.length === 1, 'lean accept');
    expect(accepted[0]!.remotePort).to.equal(a.localPort);
    expect(viaNet.called).to.equal(false);
    takeover!.release();
    res.socket(await connectTo(port));
    await until(() => viaNet.calledOnce, 'net accept');
    expect(accepted.length).to.equal(1);
  });

  it('carries a RelayServer: its client and target sides are LeanSockets, and data arrives intact', async () => {
    const connect = sinon.spy(leanTcp!, 'connect');
    const takeAccepts = sinon.spy(leanTcp!, 'takeAccepts');
    const target = res.server(createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
    const targetPort = await listen(target);
    const relay = new RelayServer({ listen: parseAddress('127.0.0.1:0'), target: parseAddress(`127.0.0.1:${targetPort}`) });
    res.defer(() => relay.shutdown(100));
    const { port } = (await relay.listen()) as { port: number };
    expect(takeAccepts.calledOnce).to.equal(true);
    const client = res.socket(await connectTo(port));
    const data = randomBytes(500_000);
    const echoed = readAll(client);
    await writeAll(client, randomSplit(data, 5, 20000));
    const got = await echoed;
    expect(got.sha256).to.equal(sha(data));
    expect(connect.calledOnce).to.equal(true);
    expect(connect.firstCall.returnValue).to.be.instanceOf(LeanSocket);
  });

  it('SLUICE_NET_SOCKETS=1 turns it off (net.Socket everywhere, as where the binding is missing)', () => {
    const url = new URL('../../../proxy/net/lean-socket.js', import.meta.url).href;
    const script = `import(${JSON.stringify(url)}).then((m) => process.stdout.write(String(m.leanTcp === null)))`;
    const run = (env: NodeJS.ProcessEnv): string => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env } }).toString();
    expect(run({ SLUICE_NET_SOCKETS: '1' })).to.equal('true');
    expect(run({ SLUICE_NET_SOCKETS: '' })).to.equal('false');
  });
});
