import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { relay, type Relay } from '../../../proxy/index.js';
import { resetOrDestroy } from '../../../proxy/net/reset.js';
import { closeError, connectTo, listen, nextConnection, Resources } from '../../helpers/sockets.js';

/**
 * libuv refuses to reset (SO_LINGER 0 + close) a TCP handle while a shutdown (our FIN) is pending,
 * and Node then emits EINVAL and drops the handle without closing it: no 'close' event ever, the
 * descriptor stays open, and a Relay waiting for that side's 'close' never finishes (its slot in
 * the ConnectionTable is held for good). These pin the cases the soak ran into.
 */

const econnreset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/**
 * Resolves with true once `socket` emits 'close', false after `ms`. Call it before acting: the
 * 'close' event is the evidence (`socket.closed` turns true even when the handle was leaked).
 */
function closesWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function settlesWithin<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)))]).finally(() => clearTimeout(timer));
}

describe('reset right after our FIN (no leaked socket)', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  async function pairOnLoopback(): Promise<{ near: Socket; far: Socket }> {
    const server = res.server(createServer({ allowHalfOpen: true }));
    const port = await listen(server);
    const accepted = nextConnection(server);
    const near = res.socket(await connectTo(port));
    const far = await accepted;
    return { near, far };
  }

  it('resetOrDestroy() right after end() still closes the socket (and the peer learns it)', async () => {
    const { near, far } = await pairOnLoopback();
    const errors: string[] = [];
    near.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    far.resume();
    const farClosed = closesWithin(far, 2000);
    const nearClosed = closesWithin(near, 2000);
    near.end(); // nothing left to write: Node asks libuv to shut the write side down at once
    resetOrDestroy(near);
    expect(await nearClosed, "the socket emitted 'close'").to.equal(true);
    expect(errors).to.not.include('EINVAL');
    // The peer sees the FIN and then the connection gone, not a socket held open forever.
    far.end();
    expect(await farClosed).to.equal(true);
  });

  /** client <-> [front | relay | dialled] <-> target, all on loopback. */
  async function relayPair(): Promise<{ client: Socket; front: Socket; dialled: Socket; target: Socket; relay: Relay }> {
    const frontServer = res.server(createServer({ allowHalfOpen: true }));
    const backServer = res.server(createServer({ allowHalfOpen: true }));
    const [frontPort, backPort] = await Promise.all([listen(frontServer), listen(backServer)]);
    const accepted = nextConnection(frontServer);
    const client = res.socket(await connectTo(frontPort));
    const front = await accepted;
    const targetAccepted = nextConnection(backServer);
    const dialled = res.socket(await connectTo(backPort));
    const target = await targetAccepted;
    return { client, front, dialled, target, relay: relay(front, dialled, {}) };
  }

  it('a target that ends and fails in the same turn: the relay finishes and closes the client side', async () => {
    const { client, front, dialled, target, relay: r } = await relayPair();
    const clientSaw = closeError(client);
    const frontClosed = closesWithin(front, 3000);
    // The soak's 'reset' target: the relay reads its FIN (and passes it on: front.end()), then the
    // next operation on the socket fails with ECONNRESET, in the same turn.
    dialled.once('end', () => dialled.destroy(econnreset()));
    target.end('last words');
    const result = await settlesWithin(r.done, 3000);
    expect(result, 'relay.done').to.not.equal('pending');
    expect((result as { end: string }).end).to.equal('target-reset');
    expect(await frontClosed, "the client side emitted 'close'").to.equal(true);
    // The client got the target's last words and FIN, then a reset: a half-open client learns of it
    // on its next write.
    client.write('still there?');
    const saw = await settlesWithin(clientSaw, 3000);
    expect(saw, 'the client saw its connection end').to.not.equal('pending');
    expect(['ECONNRESET', 'EPIPE']).to.include((saw as NodeJS.ErrnoException | null)?.code);
  });

  it('close() (idle or half-close timeout) followed at once by an error on one side still closes the other', async () => {
    const { client, front, dialled, target, relay: r } = await relayPair();
    client.resume();
    target.resume();
    const dialledClosed = closesWithin(dialled, 3000);
    r.close('idle-timeout'); // FIN both ways...
    front.destroy(econnreset()); // ...and the client's reset arrives before the FIN toward the target went out
    const result = await settlesWithin(r.done, 3000);
    expect(result, 'relay.done').to.not.equal('pending');
    expect(await dialledClosed, "the target side emitted 'close'").to.equal(true);
  });
});
