import { expect } from 'chai';
import { createServer } from 'node:net';
import { countOpenFds, defaultFdReserve, FdReserve, readFdLimit } from '../../../proxy/net/fd-reserve.js';
import { closed, connectTo, listen, Resources, until } from '../../helpers/sockets.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('FdReserve', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('reads the soft limit from /proc/self/limits text; unlimited or missing is no limit', () => {
    expect(readFdLimit(LIMITS)).to.equal(1024);
    expect(readFdLimit(LIMITS.replace('1024     ', 'unlimited'))).to.equal(null);
    expect(readFdLimit('Max cpu time unlimited unlimited seconds\n')).to.equal(null);
    if (process.platform === 'linux') {
      expect(readFdLimit()).to.be.a('number');
      expect(countOpenFds()).to.be.above(2);
    }
  });

  for (const [limit, reserve] of [
    [1024, 52], // 5%
    [200, 32], // the minimum
    [40, 20], // at most half the limit
    [65536, 1024], // the cap
    [1048576, 1024],
  ] as const) {
    it(`keeps ${reserve} descriptors in reserve out of ${limit}`, () => {
      expect(defaultFdReserve(limit)).to.equal(reserve);
      expect(new FdReserve({ limit, countOpen: () => 0 }).reserve).to.equal(reserve);
    });
  }

  it('lets the data plane grow to exactly limit - reserve, and management ports to limit - reserve/2', () => {
    let open = 0;
    const fds = new FdReserve({ limit: 100, reserve: 10, countOpen: () => open, recountMs: 0 });
    open = 89; // one more makes 90 = 100 - 10
    expect(fds.dataPlaneHasRoom()).to.equal(true);
    open = 90;
    expect(fds.dataPlaneHasRoom()).to.equal(false);
    expect(fds.managementHasRoom()).to.equal(true);
    open = 94; // one more makes 95 = 100 - 5
    expect(fds.managementHasRoom()).to.equal(true);
    open = 95;
    expect(fds.managementHasRoom()).to.equal(false);
  });

  it('counts tracked sockets live and reads the real count at most once per recountMs', async () => {
    let now = 0;
    let reads = 0;
    const fds = new FdReserve({ limit: 1000, countOpen: () => (reads++, 7), recountMs: 1000, now: () => now });
    expect(fds.inUse).to.equal(7);
    const server = res.server(createServer((s) => fds.track(s)));
    const port = await listen(server);
    const clients = await Promise.all([0, 1, 2].map(() => connectTo(port)));
    clients.forEach((c) => res.socket(c));
    await until(() => fds.inUse === 10, 'three accepted sockets tracked');
    expect(reads).to.equal(1);
    clients[0]!.destroy();
    await until(() => fds.inUse === 9, 'a closed socket no longer counted');
    // The next real count (7 open, 2 of them tracked) replaces what is untracked.
    now = 1000;
    expect(fds.inUse).to.equal(7);
    expect(reads).to.equal(2);
    for (const c of clients) c.destroy();
    await Promise.all(clients.map((c) => closed(c)));
  });

  it('with no known limit, never refuses and never counts', () => {
    const fds = new FdReserve({ limit: null, countOpen: () => {
      throw new Error('not asked');
    } });
    expect(fds.reserve).to.equal(0);
    expect(fds.dataPlaneHasRoom()).to.equal(true);
    expect(fds.managementHasRoom()).to.equal(true);
  });
});
