import { expect } from 'chai';
import { createServer, Socket } from 'node:net';
import { adoptWithReadHook } from '../../../proxy/reads/adopt-socket.js';
import { BufferPool } from '../../../proxy/memory/buffer-pool.js';
import { isLanding, LANDING, LIGHT_READ_BYTES, LIGHT_VIEW, READ_BUFFER_BYTES } from '../../../proxy/reads/read-buffers.js';
import { ReadHook } from '../../../proxy/reads/read-hook.js';
import { connectTo, listen, nextConnection, Resources } from '../../helpers/sockets.js';

describe('allocation-free read path pieces', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('a hook starts on a small view of the shared landing buffer (one light read)', () => {
    const first = new ReadHook().onread.buffer();
    expect([first, isLanding(first), first.length]).to.deep.equal([LIGHT_VIEW, true, LIGHT_READ_BYTES]);
  });

  it('a hook keeps copies of reads that arrive before a pump binds, and stops reading', () => {
    const hook = new ReadHook();
    LANDING.write('early bytes', 0);
    expect(hook.onread.callback(5, LANDING)).to.equal(false);
    LANDING.write('XXXXX', 0); // the landing buffer is reused by the next read anywhere
    const seen: number[] = [];
    const early = hook.bind({ onRead: (n) => (seen.push(n), true) });
    expect(early.map((b) => b.toString())).to.deep.equal(['early']);
    expect(hook.onread.callback(3, LANDING)).to.equal(true);
    expect(seen).to.deep.equal([3]);
  });

  it('the pool caches up to its bound and never keeps the landing buffer', () => {
    const pool = new BufferPool({ bufferBytes: READ_BUFFER_BYTES, maxCached: 2, refuse: isLanding });
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    expect(a.length).to.equal(READ_BUFFER_BYTES);
    pool.give(LANDING);
    pool.give(Buffer.alloc(100)); // the wrong size
    for (const x of [a, b, c]) pool.give(x);
    expect(pool.cached).to.equal(2);
    expect([pool.take(), pool.take()]).to.have.members([a, b]);
  });

  it('adoption falls back (returns null) for a socket without a handle', () => {
    expect(adoptWithReadHook(new Socket(), new ReadHook())).to.equal(null);
  });

  it('adoption falls back for an accepted socket that is already reading', async () => {
    const server = res.server(createServer());
    const port = await listen(server);
    const accepted = nextConnection(server);
    res.socket(await connectTo(port));
    expect(adoptWithReadHook(await accepted, new ReadHook())).to.equal(null);
  });

  it('an adopted socket reads through the hook and writes as usual', async () => {
    const server = res.server(createServer({ pauseOnConnect: true }));
    const port = await listen(server);
    const accepted = nextConnection(server);
    const client = res.socket(await connectTo(port));
    const hook = new ReadHook();
    const adopted = res.socket(adoptWithReadHook(await accepted, hook)!);
    const reads: string[] = [];
    hook.bind({ onRead: (n, buf) => (reads.push(buf.toString('utf8', 0, n)), true) });
    adopted.resume();
    client.write('through the hook');
    const echoed = new Promise<string>((r) => client.once('data', (d) => r(String(d))));
    adopted.write('reply');
    expect(await echoed).to.equal('reply');
    await new Promise<void>((r) => {
      const check = () => (reads.join('') === 'through the hook' ? r() : setImmediate(check));
      check();
    });
  });
});
