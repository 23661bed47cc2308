import { expect } from 'chai';
import { Server, Socket } from 'node:net';
import { AcceptErrorCounts, AcceptGuard } from '../../../proxy/net/accept-guard.js';
import { FdReserve } from '../../../proxy/net/fd-reserve.js';
import { capConnections } from '../../../proxy/signals/connection-cap.js';

async function twoTurns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}

describe('capConnections', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  /** A server that is never listening: 'connection' is emitted by the test, with unconnected sockets. */
  function setUp(max: number) {
    const server = new Server();
    const acceptErrors = new AcceptErrorCounts();
    const guard = new AcceptGuard(server, { name: 'test port', fds: new FdReserve({ limit: null }), acceptErrors });
    const cap = capConnections(server, { max, guard });
    const arrive = (): Socket => {
      const socket = new Socket();
      sockets.push(socket);
      server.emit('connection', socket);
      return socket;
    };
    return { cap, acceptErrors, arrive };
  }

  it('keeps the first of a burst that arrives in one turn and refuses the rest: none had the time to send its request', () => {
    const { cap, acceptErrors, arrive } = setUp(2);
    const burst = [arrive(), arrive(), arrive(), arrive()];
    expect(burst.map((s) => s.destroyed)).to.deep.equal([false, false, true, true]);
    expect(cap.size).to.equal(2);
    expect(acceptErrors.get('management-full')).to.equal(2);
    expect(acceptErrors.get('management-evicted')).to.equal(0);
  });

  it('once two turns have passed, a newcomer closes the oldest connection instead, one per newcomer', async () => {
    const { cap, acceptErrors, arrive } = setUp(2);
    const [oldest, older] = [arrive(), arrive()];
    await twoTurns();
    const newcomer = arrive();
    expect([oldest.destroyed, older.destroyed, newcomer.destroyed]).to.deep.equal([true, false, false]);
    const next = arrive();
    expect([older.destroyed, newcomer.destroyed, next.destroyed]).to.deep.equal([true, false, false]);
    expect(cap.size).to.equal(2);
    expect(cap.evicted).to.equal(2);
    expect(acceptErrors.get('management-evicted')).to.equal(2);
  });
});
