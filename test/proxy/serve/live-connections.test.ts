import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { connectTo, listen, Resources, until, portOf } from '../../helpers/sockets.js';

describe('sluice serve: /connections names each connection\'s proxy', () => {
  const res = new Resources();
  const fleets: Fleet[] = [];
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.shutdown(0)));
    await res.closeAll();
  });

  it('lists every proxy\'s connections as one page, each under its proxy\'s name, the total over all of them', async () => {
    const held: Socket[] = [];
    const upstream = `127.0.0.1:${await listen(res.server(createServer((s) => held.push(s))))}`;
    const fleet = new Fleet({ drainTimeoutMs: 0 });
    fleets.push(fleet);
    const redis = await fleet.create({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const pg = await fleet.create({ name: 'pg', listen: '127.0.0.1:0', upstream });
    const a = res.socket(await connectTo(portOf(redis.listen)));
    const b = res.socket(await connectTo(portOf(pg.listen)));
    const c = res.socket(await connectTo(portOf(pg.listen)));
    await until(() => held.length === 3, 'three upstream connections');

    const page = fleet.liveConnections(10);
    expect(page.total).to.equal(3);
    expect(page.connections.map((v) => [v.proxy, v.client]).sort()).to.deep.equal(
      [['pg', b], ['pg', c], ['redis', a]].map(([proxy, s]) => [proxy, `127.0.0.1:${(s as Socket).localPort}`]).sort(),
    );
    expect(fleet.liveConnections(1)).to.deep.include({ total: 3, limit: 1 });
    expect(fleet.liveConnections(1).connections).to.have.length(1);
  });
});
