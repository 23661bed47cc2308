import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../../proxy/serve/config-file.js';
import { Fleet } from '../../../proxy/serve/fleet.js';
import { connectTo, echoServer, listen, Resources, until, portOf, collectText } from '../../helpers/sockets.js';

/** The fleet's toxics reach every open connection of a proxy, also those of a server a settings change left draining. */
describe('sluice serve: toxics on a proxy\'s open connections', () => {
  const res = new Resources();
  let fleet: Fleet;
  let port: number;

  beforeEach(async () => {
    fleet = new Fleet({ drainTimeoutMs: 60_000 });
    const target = echoServer(res);
    port = portOf((await fleet.create({ name: 'p', listen: '127.0.0.1:0', upstream: `127.0.0.1:${await listen(target)}` })).listen);
  });
  afterEach(async () => {
    await fleet.shutdown(0);
    await res.closeAll();
  });

  /**
   * A fleet started from a config file with one proxy 'f' in front of an echo server (`port` is
   * its), and how to rewrite that proxy's entry before a reload.
   */
  async function fleetFromFile(): Promise<{ fromFile: Fleet; write: (proxy: Record<string, unknown>) => void }> {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-fleet-toxics-'));
    res.defer(() => rmSync(dir, { recursive: true, force: true }));
    const upstream = `127.0.0.1:${await listen(echoServer(res))}`;
    const path = join(dir, 'sluice.json');
    const write = (proxy: Record<string, unknown>) => writeFileSync(path, JSON.stringify({ proxies: [{ name: 'f', listen: '127.0.0.1:0', upstream, ...proxy }] }));
    write({});
    const fromFile = new Fleet({ drainTimeoutMs: 60_000, configFile: path });
    res.defer(() => fromFile.shutdown(0));
    await fromFile.start(await loadConfigFile(path));
    port = portOf(fromFile.get('f').listen);
    return { fromFile, write };
  }

  async function echoing(): Promise<{ client: Socket; got: ReturnType<typeof collectText> }> {
    const client = res.socket(await connectTo(port));
    const got = collectText(client);
    client.write('ping');
    await until(() => got.text() === 'ping', 'the echo');
    return { client, got };
  }

  it('a toxic added after a settings change reaches the connection the old settings still carry', async () => {
    const { client, got } = await echoing();
    await fleet.update('p', { window: '64KiB' }); // the live connection stays on the draining server
    await fleet.addToxic('p', { name: 'cap', type: 'limit_data', attributes: { bytes: 5 } });
    client.write('hello world');
    await until(() => got.ended(), 'FIN after 5 bytes');
    expect(got.text()).to.equal('pinghello');
  });

  it('a toxic removed after a settings change lets go of the connection the old settings carry', async () => {
    const { client, got } = await echoing();
    await fleet.addToxic('p', { name: 'still', type: 'stall', stream: 'upstream' });
    await fleet.update('p', { window: '64KiB' });
    client.write('held');
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // turns in which nothing may come back
    expect(got.text()).to.equal('ping');
    await fleet.removeToxic('p', 'still');
    await until(() => got.text() === 'pingheld', 'the echo once the stall is gone');
  });

  it('reset clears the toxics of draining connections too', async () => {
    const { client, got } = await echoing();
    await fleet.addToxic('p', { name: 'still', type: 'stall', stream: 'upstream' });
    await fleet.update('p', { window: '64KiB' });
    client.write('held');
    await fleet.reset();
    await until(() => got.text() === 'pingheld', 'the echo once reset');
  });

  it('a reload changing settings and toxics together: the connection on the old settings gets the new toxics', async () => {
    const { fromFile, write } = await fleetFromFile();
    const { client, got } = await echoing();
    write({ window: '64KiB', toxics: [{ name: 'cap', type: 'limit_data', attributes: { bytes: 5 } }] });
    expect((await fromFile.reload()).changed).to.deep.equal(['f']);
    client.write('hello world');
    await until(() => got.ended(), 'FIN after 5 bytes');
    expect(got.text()).to.equal('pinghello');
  });

  it('a reload changing only toxics reaches connections left draining by an earlier settings change', async () => {
    const { fromFile, write } = await fleetFromFile();
    const { client, got } = await echoing();
    write({ window: '64KiB' });
    await fromFile.reload();
    write({ window: '64KiB', toxics: [{ name: 'cap', type: 'limit_data', attributes: { bytes: 5 } }] });
    await fromFile.reload();
    client.write('hello world');
    await until(() => got.ended(), 'FIN after 5 bytes');
    expect(got.text()).to.equal('pinghello');
  });
});
