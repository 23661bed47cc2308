import { expect } from 'chai';
import type { Server } from 'node:net';
import { AcceptErrorCounts } from '../../../proxy/net/accept-guard.js';
import { FdReserve } from '../../../proxy/net/fd-reserve.js';
import { RelayServer, type RelayServerOptions } from '../../../proxy/index.js';
import { closeError, connectTo, echoServer, listen, readAll, Resources } from '../../helpers/sockets.js';
import { tcp } from '../../helpers/tunnel.js';

/** An accept error as Node reports it (net.Server's onconnection: `new ErrnoException(err, 'accept')`). */
function acceptError(code: string, errno: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`accept ${code}`), { code, errno, syscall: 'accept' });
}

describe('relay listener: failed and refused accepts', () => {
  const res = new Resources();
  const relays: RelayServer[] = [];
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.shutdown(0)));
    await res.closeAll();
  });

  async function start(options: Partial<RelayServerOptions>): Promise<{ relay: RelayServer; port: number; server: Server }> {
    const target = echoServer(res);
    const relay = new RelayServer({ listen: tcp(0), target: tcp(await listen(target)), ...options });
    relays.push(relay);
    const address = await relay.listen();
    // The listener is private; the accept errors below are what Node emits on it.
    const server = (relay as unknown as { server: Server }).server;
    return { relay, port: address.kind === 'tcp' ? address.port : 0, server };
  }

  async function echoes(port: number, text: string): Promise<boolean> {
    const client = res.socket(await connectTo(port));
    const reply = readAll(client);
    client.end(text);
    return (await reply).bytes === text.length;
  }

  it('counts an accept that failed with EMFILE or ENFILE, tells the first of each kind once, and keeps serving', async () => {
    const acceptErrors = new AcceptErrorCounts();
    const notices: string[] = [];
    const { port, server } = await start({ acceptErrors, onNotice: (t) => notices.push(t), fdReserve: new FdReserve({ limit: null }) });
    // Without a listener for it, this 'error' would be thrown: the process would exit.
    server.emit('error', acceptError('EMFILE', -24));
    server.emit('error', acceptError('EMFILE', -24));
    server.emit('error', acceptError('ENFILE', -23));
    expect(acceptErrors.get('emfile')).to.equal(2);
    expect(acceptErrors.get('enfile')).to.equal(1);
    expect(notices).to.have.length(2);
    expect(notices[0]).to.match(/^relay listener 127\.0\.0\.1:\d+: accept failed \(EMFILE, out of descriptors\).*sluice_accept_errors_total\{reason="emfile"\}$/);
    expect(notices[1]).to.include('ENFILE');
    expect(await echoes(port, 'still relaying')).to.equal(true);
  });

  it('closes new clients at once while the process is inside its descriptor reserve, counts them, tells once, and serves again once descriptors are free', async () => {
    const acceptErrors = new AcceptErrorCounts();
    const notices: string[] = [];
    let open = 0;
    // 100 descriptors, 10 in reserve; the real count is asked at every check.
    const fdReserve = new FdReserve({ limit: 100, reserve: 10, countOpen: () => open, recountMs: 0 });
    const { relay, port } = await start({ acceptErrors, onNotice: (t) => notices.push(t), fdReserve });

    open = 89; // this client makes 90: the last one the reserve allows
    expect(await echoes(port, 'at the limit')).to.equal(true);
    open = 90;
    for (let i = 0; i < 3; i++) {
      const client = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
      client.write('past the limit');
      const err = await closeError(client);
      expect(err === null || err.code === 'ECONNRESET').to.equal(true);
    }
    expect(acceptErrors.get('fd-reserve')).to.equal(3);
    expect(relay.stats().clientToTarget.bytes).to.equal('at the limit'.length);
    expect(notices).to.have.length(1);
    expect(notices[0]).to.match(/^relay listener 127\.0\.0\.1:\d+: 90 of 100 descriptors in use: new clients are closed at once while fewer than 10 are free .*\{reason="fd-reserve"\}$/);

    open = 50;
    expect(await echoes(port, 'room again')).to.equal(true);
    expect(acceptErrors.get('fd-reserve')).to.equal(3);
  });
});
