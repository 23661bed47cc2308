import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { RelayServer, type Address, type RelayServerOptions } from '../../../proxy/index.js';
import type { ConnectionView } from '../../../proxy/signals/connections-view.js';
import { connectTo, flood, listen, Resources, until } from '../../helpers/sockets.js';

const tcp = (port: number): Address => ({ kind: 'tcp', host: '127.0.0.1', port });

/** `count` newline-ended messages of `size` bytes. */
function lines(count: number, size: number): Buffer {
  return Buffer.from(`${'x'.repeat(size - 1)}\n`.repeat(count));
}

describe('RelayServer.connections (what /connections lists)', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A target that keeps every connection and reads from none of them (`read(i)` lets one go). */
  async function stalledTarget(): Promise<{ port: number; sockets: Socket[] }> {
    const sockets: Socket[] = [];
    const server = res.server(createServer({ allowHalfOpen: true }, (s) => (s.pause(), sockets.push(s))));
    return { port: await listen(server), sockets };
  }

  async function start(target: number, options: Partial<RelayServerOptions> = {}): Promise<{ server: RelayServer; port: number }> {
    const server = new RelayServer({ listen: tcp(0), target: tcp(target), windowBytes: 64 * 1024, ...options });
    servers.push(server);
    const address = await server.listen();
    return { server, port: address.kind === 'tcp' ? address.port : 0 };
  }


  const only = (server: RelayServer): ConnectionView | undefined => server.connections(10).connections[0];

  it('lists a connection a stalled target holds back: its client HOST:PORT, buffered at the window, held for the window', async () => {
    const target = await stalledTarget();
    const { server, port } = await start(target.port);
    const client = res.socket(await connectTo(port));
    flood(client);
    await until(() => only(server)?.clientToTarget?.held === true, 'the client held back');

    const page = server.connections(10);
    expect(page.total).to.equal(1);
    expect(page.limit).to.equal(10);
    const view = page.connections[0]!;
    expect(view).to.include({ id: 1, client: `127.0.0.1:${client.localPort}`, target: `127.0.0.1:${target.port}`, phase: 'relaying', held: true });
    expect(view).to.not.have.property('proxy');
    expect(view).to.not.have.property('messages');
    expect(view).to.not.have.property('stream');
    const up = view.clientToTarget!;
    expect(up.holdReasons).to.deep.equal(['window']);
    expect(up.windowBytes).to.be.within(1, 64 * 1024);
    expect(up.bufferedBytes).to.be.at.least(up.windowBytes);
    expect(up.bytes).to.be.at.least(up.deliveredBytes + up.bufferedBytes);
    expect(up.pauses).to.be.at.least(1);
    expect(up.heldBackMs).to.be.at.least(up.heldForMs);
    expect(view.targetToClient).to.deep.include({ bytes: 0, bufferedBytes: 0, held: false, holdReasons: [], heldForMs: 0, pauses: 0 });
    // JSON as served: plain data only.
    expect(JSON.parse(JSON.stringify(page))).to.deep.equal(page);

    // The target gives up (a paused client's own close would wait behind its unread bytes).
    target.sockets[0]!.destroy();
    await until(() => server.connections(10).total === 0, 'the connection gone');
    expect(server.connections(10).connections).to.deep.equal([]);
  });

  it('counts every connection in total, lists at most the limit, busiest first, and names the proxy when asked', async () => {
    const target = await stalledTarget();
    const { server, port } = await start(target.port);
    const quiet1 = res.socket(await connectTo(port));
    const busy = res.socket(await connectTo(port));
    const quiet2 = res.socket(await connectTo(port));
    await until(() => target.sockets.length === 3, 'three target connections');
    flood(busy);
    await until(() => server.connections(10).connections.some((c) => c.held), 'one connection held back');

    const all = server.connections(10, 'web');
    expect(all.total).to.equal(3);
    expect(all.connections.map((c) => [c.client, c.proxy])).to.deep.equal(
      [busy, quiet1, quiet2].map((s) => [`127.0.0.1:${s.localPort}`, 'web']),
    );
    const one = server.connections(1);
    expect([one.total, one.limit, one.connections.map((c) => c.id)]).to.deep.equal([3, 1, [2]]);
    expect(server.connections(0)).to.deep.equal({ total: 3, limit: 0, connections: [] });
  });

  it('lists a client waiting for a slot as queued, with no directions yet', async () => {
    const target = await stalledTarget();
    const { server, port } = await start(target.port, { maxConns: 1 });
    res.socket(await connectTo(port));
    await until(() => target.sockets.length === 1, 'the first connection relaying');
    const waiting = res.socket(await connectTo(port));
    await until(() => server.queuedConnections === 1, 'the second one queued');

    const views = server.connections(10).connections;
    const queued = views.find((c) => c.phase === 'queued')!;
    expect(queued).to.include({ client: `127.0.0.1:${waiting.localPort}`, held: false, clientToTarget: null, targetToClient: null });
    expect(views.map((c) => c.phase).sort()).to.deep.equal(['queued', 'relaying']);
  });

  it('message mode: forwarded and dropped messages, and what waits in memory (drop-newest)', async () => {
    const target = await stalledTarget();
    const { server, port } = await start(target.port, { messages: 'lines', overflow: 'drop-newest' });
    const client = res.socket(await connectTo(port));
    flood(client, lines(256, 1024));
    await until(() => (only(server)?.messages?.dropped ?? 0) > 0, 'messages dropped');

    const messages = only(server)!.messages!;
    expect(messages.droppedByReason['drop-newest']).to.equal(messages.dropped);
    expect(messages.forwarded).to.be.at.least(1);
    expect(messages.queuedBytes).to.equal(messages.queuedMessages * 1024);
    expect([messages.spilledMessages, messages.spilledBytes]).to.deep.equal([0, 0]);
    const counted = server.messagesDropped();
    expect(counted).to.be.at.least(messages.dropped);
  });

  it('message mode: messages set aside on disk (spill)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-listing-'));
    dirs.push(dir);
    const target = await stalledTarget();
    const { server, port } = await start(target.port, { messages: 'lines', overflow: 'spill', spillDir: dir });
    const client = res.socket(await connectTo(port));
    flood(client, lines(256, 1024));
    await until(() => (only(server)?.messages?.spilledBytes ?? 0) > 0, 'messages spilled');

    const messages = only(server)!.messages!;
    expect(messages.spilledMessages).to.be.at.least(1);
    expect(messages.spilledBytes).to.equal(messages.spilledMessages * 1024);
    expect(messages.dropped).to.equal(0);
  });
});
