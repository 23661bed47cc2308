import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { MetricsRegistry } from '../../../proxy/index.js';
import { RelayServer } from '../../../proxy/relay/relay-server.js';
import { loadConfigFile } from '../../../proxy/serve/config-file.js';
import { ApiError } from '../../../proxy/serve/control.js';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { connectTo, echoServer, listen, Resources, until, portOf, collectText } from '../../helpers/sockets.js';

function apiError(p: Promise<unknown>): Promise<[number, string]> {
  return p.then(
    () => expect.fail('resolved'),
    (e: unknown) => {
      expect(e).to.be.instanceOf(ApiError);
      return [(e as ApiError).status, (e as ApiError).message];
    },
  );
}

/** Changes that fail leave the proxy as it was; changes that race each other all land; a proxy's connections stay its own. */
describe('sluice serve: changes to a running fleet', () => {
  const res = new Resources();
  let dir: string;
  let upstream: string;
  let notices: string[];
  let fleet: Fleet;
  let path: string;
  const fifos: string[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-fleet-changes-'));
    path = join(dir, 'sluice.json');
    upstream = `127.0.0.1:${await listen(echoServer(res))}`;
    notices = [];
    fleet = new Fleet({ drainTimeoutMs: 60_000, configFile: path, onNotice: (t) => notices.push(t) });
  });
  afterEach(async () => {
    sinon.restore();
    // Should a reload be stuck reading a FIFO, a writer coming and going ends it (EOF), so the fleet can shut down.
    for (const fifo of fifos.splice(0)) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader waiting
      }
    }
    await fleet.shutdown(0);
    await res.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function write(proxies: unknown[]): void {
    writeFileSync(path, JSON.stringify({ proxies }));
  }

  async function start(proxies: unknown[]): Promise<void> {
    write(proxies);
    await fleet.start(await loadConfigFile(path));
  }

  /** A connection through `port` that has echoed one line, ready for more. */
  async function echoing(port: number): Promise<{ client: Socket; got: ReturnType<typeof collectText> }> {
    const client = res.socket(await connectTo(port));
    const got = collectText(client);
    client.write('ping\n');
    await until(() => got.text() === 'ping\n', 'the echo');
    return { client, got };
  }

  async function echoes(port: number, line: string): Promise<void> {
    const { client, got } = await echoing(port);
    client.write(line);
    await until(() => got.text() === `ping\n${line}`, `"${line.trim()}" echoed`);
    client.destroy();
  }

  describe('a settings change whose new server cannot start', () => {
    // A file where the spill directory should be: mkdir under it fails (ENOTDIR).
    const unusable = () => {
      const file = join(dir, 'not-a-dir');
      writeFileSync(file, '');
      return join(file, 'spill');
    };

    it('through the API: 400 naming spill-dir, and the proxy runs on as it was (same settings, same port, open connection intact)', async () => {
      await start([{ name: 'a', listen: '127.0.0.1:0', upstream, messages: 'lines' }]);
      const before = fleet.get('a');
      const port = portOf(before.listen);
      const live = await echoing(port);
      const spillDir = unusable();
      expect(await apiError(fleet.update('a', { overflow: 'spill', 'spill-dir': spillDir }))).to.deep.equal([400, `spill-dir: ${spillDir} is not a writable directory (ENOTDIR)`]);
      expect(fleet.get('a')).to.deep.equal(before);
      await echoes(port, 'new\n');
      live.client.write('old\n');
      await until(() => live.got.text() === 'ping\nold\n', 'the open connection echoing');
    });

    it('by a reload: told as a notice and in the answer\'s failed list naming the proxy and spill-dir, counted as partial, and the proxy runs on as it was', async () => {
      await start([{ name: 'a', listen: '127.0.0.1:0', upstream, messages: 'lines' }]);
      const before = fleet.get('a');
      const spillDir = unusable();
      write([{ name: 'a', listen: '127.0.0.1:0', upstream, messages: 'lines', overflow: 'spill', 'spill-dir': spillDir }]);
      const error = `spill-dir: ${spillDir} is not a writable directory (ENOTDIR)`;
      expect(await fleet.reload()).to.deep.equal({ added: [], removed: [], changed: [], unchanged: [], failed: [{ name: 'a', error }] });
      expect(notices).to.deep.equal([`reload: proxy a: ${error}`]);
      const registry = new MetricsRegistry();
      fleet.registerMetrics(registry);
      expect(registry.render()).to.match(/^sluice_config_reloads_total\{result="partial"\} 1$/m);
      expect(fleet.get('a')).to.deep.equal(before);
      await echoes(portOf(before.listen), 'after\n');
    });

    it('failing after it took the listening socket over: the old server takes it back and accepts again', async () => {
      await start([{ name: 'a', listen: '127.0.0.1:0', upstream }]);
      const before = fleet.get('a');
      sinon.stub(RelayServer.prototype, 'listen').rejects(new Error('no luck'));
      const [status] = await apiError(fleet.update('a', { window: '64KiB' }));
      expect(status).to.equal(500);
      sinon.restore();
      expect(fleet.get('a')).to.deep.equal(before);
      await echoes(portOf(before.listen), 'still here\n');
    });
  });

  describe('a reload whose listen addresses collide', () => {
    it('one address named twice: the whole file refused (400 naming the proxy and listen), nothing applied, counted as a failure', async () => {
      await start([{ name: 'a', listen: '127.0.0.1:0', upstream }]);
      const before = fleet.list();
      write([
        { name: 'a', listen: '127.0.0.1:0', upstream, window: '64KiB' },
        { name: 'b', listen: '127.0.0.1:25902', upstream },
        { name: 'c', listen: 'localhost:25902', upstream },
      ]);
      expect(await apiError(fleet.reload())).to.deep.equal([400, `${path}: proxy c: listen: localhost:25902 is where proxy b listens (127.0.0.1:25902)`]);
      expect(fleet.list()).to.deep.equal(before);
      const registry = new MetricsRegistry();
      fleet.registerMetrics(registry);
      expect(registry.render()).to.match(/^sluice_config_reloads_total\{result="success"\} 0$/m);
      expect(registry.render()).to.match(/^sluice_config_reloads_total\{result="failure"\} 1$/m);
    });

    it('two proxies swapping addresses: refused whole, saying so; both keep theirs', async () => {
      await start([
        { name: 'a', listen: '127.0.0.1:0', upstream },
        { name: 'b', listen: '127.0.0.1:0', upstream },
      ]);
      const [a, b] = [fleet.get('a').listen, fleet.get('b').listen];
      write([
        { name: 'a', listen: b, upstream },
        { name: 'b', listen: a, upstream },
      ]);
      expect(await apiError(fleet.reload())).to.deep.equal([
        400,
        `${path}: proxy a: listen: ${b} is where proxy b listens until it moves; one reload cannot pass a listen address from one proxy to another (move proxy b in a reload of its own first)`,
      ]);
      expect([fleet.get('a').listen, fleet.get('b').listen]).to.deep.equal([a, b]);
    });

    it('an address a proxy made through the API listens on: refused whole', async () => {
      await start([{ name: 'a', listen: '127.0.0.1:0', upstream }]);
      const api = (await fleet.create({ name: 'api', listen: '127.0.0.1:0', upstream })).listen;
      write([
        { name: 'a', listen: '127.0.0.1:0', upstream, window: '64KiB' },
        { name: 'z', listen: api, upstream },
      ]);
      expect(await apiError(fleet.reload())).to.deep.equal([400, `${path}: proxy z: listen: ${api} is where proxy api listens`]);
      expect(fleet.names()).to.deep.equal(['a', 'api']);
    });

    it('an address freed in the same reload (its proxy removed, or disabled further down the file) is taken', async () => {
      await start([
        { name: 'gone', listen: '127.0.0.1:0', upstream },
        { name: 'off', listen: '127.0.0.1:0', upstream },
      ]);
      const [gone, off] = [fleet.get('gone').listen, fleet.get('off').listen];
      write([
        { name: 'x', listen: gone, upstream },
        { name: 'y', listen: off, upstream },
        { name: 'off', listen: '127.0.0.1:0', upstream, enabled: false },
      ]);
      expect(await fleet.reload()).to.deep.include({ added: ['x', 'y'], removed: ['gone'], changed: ['off'] });
      expect(notices).to.deep.equal([]);
      await echoes(portOf(gone), 'x\n');
      await echoes(portOf(off), 'y\n');
    });
  });

  it('a reload of a config swapped for a FIFO: 400 at once, and the fleet goes on taking changes and can shut down', async () => {
    await start([{ name: 'a', listen: '127.0.0.1:0', upstream }]);
    rmSync(path);
    execFileSync('mkfifo', [path]);
    fifos.push(path);
    expect(await apiError(fleet.reload())).to.deep.equal([400, `${path}: not a regular file (a FIFO)`]);
    expect((await fleet.create({ name: 'b', listen: '127.0.0.1:0', upstream })).enabled).to.equal(true);
  });

  it('a toxic added while the proxy is being enabled reaches the server that comes out of it', async () => {
    const port = portOf((await fleet.create({ name: 'p', listen: '127.0.0.1:0', upstream })).listen);
    await fleet.update('p', { enabled: false });
    // The toxic comes while the new server is starting to listen.
    const listen = RelayServer.prototype.listen;
    let adding: Promise<unknown> | undefined;
    sinon.stub(RelayServer.prototype, 'listen').callsFake(function (this: RelayServer) {
      adding ??= fleet.addToxic('p', { name: 'cap', type: 'limit_data', attributes: { bytes: 5 } });
      return listen.call(this);
    });
    await fleet.update('p', { enabled: true });
    await adding;
    sinon.restore();
    expect(fleet.toxics('p').map((t) => t.name)).to.deep.equal(['cap']);
    const client = res.socket(await connectTo(port));
    const got = collectText(client);
    client.write('hello world');
    await until(() => got.ended(), 'FIN after 5 bytes');
    expect(got.text()).to.equal('hello');
  });

  describe("a proxy's connections", () => {
    it('are listed after a settings change and after a reload, while the old servers drain them (and can be closed)', async () => {
      await start([{ name: 'a', listen: '127.0.0.1:0', upstream }]);
      const port = portOf(fleet.get('a').listen);
      const first = await echoing(port);
      const [firstId] = fleet.connections('a').connections.map((c) => c.id);
      await fleet.update('a', { window: '64KiB' });
      const second = await echoing(port);
      write([{ name: 'a', listen: '127.0.0.1:0', upstream, window: '128KiB' }]);
      expect(await fleet.reload()).to.deep.include({ changed: ['a'] });
      const third = await echoing(port);
      const listed = fleet.connections('a');
      expect(listed.total).to.equal(3);
      expect(listed.connections.map((c) => c.id)[0]).to.equal(firstId);
      expect(listed.connections.map((c) => c.id)).to.deep.equal([...listed.connections.map((c) => c.id)].sort((x, y) => x - y));
      expect(fleet.connections('a', 2).connections.map((c) => c.id)).to.deep.equal(listed.connections.slice(0, 2).map((c) => c.id));
      fleet.closeConnection('a', firstId!);
      await until(() => first.client.destroyed, 'the first connection reset');
      expect(fleet.connections('a').total).to.equal(2);
      second.client.destroy();
      third.client.destroy();
    });
  });
});
