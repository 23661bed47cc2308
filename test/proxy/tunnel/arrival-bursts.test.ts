import { expect } from 'chai';
import sinon from 'sinon';
import { once } from 'node:events';
import { ArrivalBurstCollector } from '../../../proxy/memory/arrival-burst.js';
import { connectTo, echoServer, listen, Resources, until } from '../../helpers/sockets.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';

describe('tunnel sidecars: the after-burst GC (tunnel/arrival-bursts.ts)', () => {
  const res = new Resources();
  let tunnel: Tunnel | null = null;
  afterEach(async () => {
    sinon.restore();
    await tunnel?.close();
    tunnel = null;
    await res.closeAll();
  });

  it('each sidecar counts every accepted connection (client) and stream (server) as an arrival, and stops at shutdown', async () => {
    const arrived = sinon.spy(ArrivalBurstCollector.prototype, 'arrived');
    const closed = sinon.spy(ArrivalBurstCollector.prototype, 'close');
    tunnel = await startTunnel(tcp(await listen(echoServer(res))));
    for (let i = 0; i < 3; i++) {
      const client = res.socket(await connectTo(tunnel.port));
      client.write('x');
      await once(client, 'data'); // through both sidecars and back
    }
    await until(() => arrived.callCount === 6, 'three arrivals on each side');
    const collectors = new Set(arrived.thisValues);
    expect(collectors.size).to.equal(2);
    for (const c of collectors) expect(arrived.thisValues.filter((t) => t === c)).to.have.length(3);
    await tunnel.close();
    tunnel = null;
    expect(new Set(closed.thisValues)).to.deep.equal(collectors);
  });
});
