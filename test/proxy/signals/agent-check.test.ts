import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import sinon from 'sinon';
import { formatAgentReply, MAX_AGENT_REPLY_BYTES, startAgentCheck, type AgentCheckOptions, type AgentCheckResponder } from '../../../proxy/signals/agent-check.js';
import { AcceptErrorCounts } from '../../../proxy/net/accept-guard.js';
import { FdReserve } from '../../../proxy/net/fd-reserve.js';
import { closed, closeError, connectTo, readAll, Resources, until } from '../../helpers/sockets.js';

describe('agent-check responder', () => {
  const res = new Resources();
  const responders: AgentCheckResponder[] = [];
  let clock: sinon.SinonFakeTimers | null = null;

  afterEach(async () => {
    clock?.restore();
    clock = null;
    await Promise.all(responders.splice(0).map((r) => r.close()));
    await res.closeAll();
  });

  async function start(reply: () => string, options: AgentCheckOptions = {}): Promise<{ agent: AgentCheckResponder; port: number }> {
    const agent = await startAgentCheck({ kind: 'tcp', host: '127.0.0.1', port: 0 }, reply, options);
    responders.push(agent);
    return { agent, port: agent.address.kind === 'tcp' ? agent.address.port : 0 };
  }

  /** A client that closes its side when the responder closes its own (like HAProxy). */
  const client = async (port: number) => res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));

  /** Connects, reads to the end, and returns the text. */
  async function check(port: number, send?: string): Promise<string> {
    const s = res.socket(await connectTo(port));
    if (send !== undefined) s.write(send);
    const got = readAll(s);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    await got;
    s.end();
    return Buffer.concat(chunks).toString('latin1');
  }

  it('answers each connection with one line, then closes it', async () => {
    const { agent, port } = await start(() => 'up ready 100%');
    expect(await check(port)).to.equal('up ready 100%\n');
    await until(() => agent.connections === 0, 'the connection released');
  });

  it('asks reply() afresh for every connection', async () => {
    let n = 0;
    const { port } = await start(() => `up ready ${100 - 10 * n++}%`);
    expect([await check(port), await check(port), await check(port)]).to.deep.equal(['up ready 100%\n', 'up ready 90%\n', 'up ready 80%\n']);
  });

  it("answers a peer that sends an agent-send string, and drops what it sent", async () => {
    const { port } = await start(() => 'drain');
    expect(await check(port, 'be_web/srv1\n')).to.equal('drain\n');
  });

  it('cuts off a peer that sends more than maxInputBytes, exactly past the limit', async () => {
    const { agent, port } = await start(() => 'up', { maxInputBytes: 100, lingerMs: 60_000 });
    // Neither reads the reply, so neither closes its side: only the limit can close them.
    const atLimit = await client(port);
    atLimit.write(Buffer.alloc(100));
    await until(() => agent.connections === 1, 'the first connection');
    const over = await client(port);
    over.write(Buffer.alloc(101));
    await until(() => agent.connections === 2 || over.destroyed, 'the second connection');
    await until(() => agent.connections === 1, 'only the over-limit peer released');
    expect(atLimit.destroyed).to.equal(false);
  });

  it('survives peers that reset at once, and releases their sockets', async () => {
    const { agent, port } = await start(() => 'up ready 100%');
    for (let i = 0; i < 20; i++) {
      const s = res.socket(await connectTo(port));
      s.resetAndDestroy();
    }
    await until(() => agent.connections === 0, 'every reset connection released');
    expect(await check(port)).to.equal('up ready 100%\n');
  });

  it('closes a peer that never reads nor closes after lingerMs, not before', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { agent, port } = await start(() => 'up ready 100%', { lingerMs: 2000 });
    const s = await client(port);
    s.pause(); // never reads
    await until(() => agent.connections === 1, 'the accepted connection');
    await clock.tickAsync(1999);
    expect(agent.connections).to.equal(1);
    const gone = closed(s);
    await clock.tickAsync(1);
    await until(() => agent.connections === 0, 'the lingering connection destroyed');
    s.resume(); // let the client see the end
    await gone;
  });

  it('close() stops listening and releases every open connection', async () => {
    const { agent, port } = await start(() => 'up', { lingerMs: 60_000 });
    const clients = await Promise.all([0, 1, 2].map(() => client(port)));
    clients.forEach((c) => c.pause());
    await until(() => agent.connections === 3, 'three open connections');
    await agent.close();
    expect(agent.connections).to.equal(0);
    clients.forEach((c) => c.resume());
    await Promise.all(clients.map((c) => closed(c)));
    const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const s: Socket = connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(null)));
      s.once('error', resolve);
    });
    expect(refused?.code).to.equal('ECONNREFUSED');
    await agent.close(); // idempotent
  });

  it('past maxConnections closes the oldest lingering connection, so a new check is still answered', async () => {
    const acceptErrors = new AcceptErrorCounts();
    const { agent, port } = await start(() => 'up', { maxConnections: 2, lingerMs: 60_000, acceptErrors, fdReserve: new FdReserve({ limit: null }) });
    const held = await Promise.all([0, 1].map(() => client(port)));
    held.forEach((c) => c.pause());
    await until(() => agent.connections === 2, 'two held connections');
    for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r)); // no longer just arrived
    const oldestGone = closed(held[0]!);
    held[0]!.resume();
    expect(await check(port)).to.equal('up\n');
    await oldestGone;
    expect(acceptErrors.get('management-evicted')).to.equal(1);
    expect(agent.connections).to.be.at.most(2);
  });

  it('a reply() that throws closes that connection unanswered and reports the error', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const { port } = await start(
      () => {
        if (fail) throw new Error('boom');
        return 'up';
      },
      { onError: (e) => errors.push(e) },
    );
    const s = await client(port);
    s.resume();
    const err = await closeError(s);
    expect(err === null || ['ECONNRESET', 'EPIPE'].includes(err.code ?? '')).to.equal(true);
    expect((errors[0] as Error).message).to.equal('boom');
    fail = false;
    expect(await check(port)).to.equal('up\n');
  });

  describe('formatAgentReply', () => {
    const rows: [string, string][] = [
      ['up ready 75%', 'up ready 75%\n'],
      ['drain\n', 'drain\n'],
      ['  up 50%  ', 'up 50%\n'],
      ['up\r\nmaint', 'up\n'],
      ['ready\rdown', 'ready\n'],
      ['', '\n'],
      ['up ready 100% # ok \u00e9', 'up ready 100% # ok ?\n'],
    ];
    for (const [input, want] of rows) {
      it(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => expect(formatAgentReply(input)).to.equal(want));
    }
    it(`cuts a long reply to ${MAX_AGENT_REPLY_BYTES} bytes, line end included`, () => {
      expect(formatAgentReply('x'.repeat(10_000))).to.have.length(MAX_AGENT_REPLY_BYTES);
      expect(formatAgentReply('x'.repeat(MAX_AGENT_REPLY_BYTES - 1))).to.have.length(MAX_AGENT_REPLY_BYTES);
    });
  });
});
