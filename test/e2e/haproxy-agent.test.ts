import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { startAgentCheck, type AgentCheckResponder } from '../../proxy/signals/agent-check.js';
import { PressureSignals } from '../../windowing/index.js';
import { haproxyConfig, parseStat } from '../../scenarios/harness/haproxy-admin.js';
import { findHaproxy, haproxyUnavailableReason, startHaproxy, type Haproxy, type RunningHaproxy } from '../../scenarios/harness/haproxy.js';
import { Scope } from '../../scenarios/harness/scope.js';
import { connectTo, listen, readAll, Resources } from '../helpers/sockets.js';

/**
 * The shape of the issue-6 end-to-end test, with stand-ins: HAProxy balances between two
 * "instances", each a tiny server that names itself plus an agent-check responder whose
 * reply the test sets. The real test swaps in two `sluice relay` instances (one with a slow
 * target) whose replies come from their pressure.
 */
interface Instance {
  name: string;
  server: Server;
  port: number;
  agent: AgentCheckResponder;
  agentPort: number;
  reply: string;
  served: number;
}

describe('e2e: HAProxy follows agent-check replies (real haproxy)', function () {
  const res = new Resources();
  const scope = new Scope();
  let haproxy: Haproxy;
  let lb: RunningHaproxy | null = null;
  const agents: AgentCheckResponder[] = [];

  before(async function () {
    const found = await findHaproxy();
    if (!found) {
      console.log(`[haproxy] skipping: ${haproxyUnavailableReason()}`);
      this.skip();
    }
    haproxy = found;
  });

  afterEach(async () => {
    await scope.close();
    lb = null;
    await Promise.all(agents.splice(0).map((a) => a.close()));
    await res.closeAll();
  });

  async function instance(name: string): Promise<Instance> {
    const inst = { name, reply: 'up ready 100%', served: 0 } as Instance;
    inst.server = res.server(
      createServer((s) => {
        inst.served++;
        s.on('error', () => {});
        s.end(name);
      }),
    );
    inst.port = await listen(inst.server);
    inst.agent = await startAgentCheck({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => inst.reply);
    agents.push(inst.agent);
    inst.agentPort = inst.agent.address.kind === 'tcp' ? inst.agent.address.port : 0;
    return inst;
  }

  /** Opens `n` connections through HAProxy one after another; returns who answered each. */
  async function connectMany(n: number): Promise<string[]> {
    const who: string[] = [];
    for (let i = 0; i < n; i++) {
      const s = res.socket(await connectTo(lb!.port));
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      await readAll(s);
      s.end();
      who.push(Buffer.concat(chunks).toString());
    }
    return who;
  }

  const count = (who: string[], name: string) => who.filter((w) => w === name).length;

  it('new connections move off a server whose agent says drain, and come back on "ready"', async function () {
    this.timeout(60_000);
    const [a, b] = [await instance('a'), await instance('b')];
    lb = await startHaproxy(scope, haproxy, {
      servers: [
        { name: 'a', port: a.port, agentPort: a.agentPort },
        { name: 'b', port: b.port, agentPort: b.agentPort },
      ],
      agentInterMs: 200,
    });
    await lb.waitFor((s) => s.a?.agentStatus === 'L7OK' && s.b?.agentStatus === 'L7OK', 'both agents answered "up"');

    const before = await connectMany(20);
    expect([count(before, 'a'), count(before, 'b')]).to.deep.equal([10, 10]); // roundrobin, equal weights

    b.reply = 'drain';
    await lb.waitFor((s) => s.b?.status.startsWith('DRAIN') === true, 'b drained');
    const drained = await connectMany(20);
    expect([count(drained, 'a'), count(drained, 'b')]).to.deep.equal([20, 0]);

    b.reply = 'up ready 100%';
    await lb.waitFor((s) => s.b?.status.startsWith('DRAIN') === false && s.b.weight === 100, 'b ready again');
    const after = await connectMany(20);
    expect(count(after, 'b')).to.be.greaterThan(0);
    expect(count(after, 'a') + count(after, 'b')).to.equal(20);
    expect(a.served + b.served).to.equal(60); // no stray probe connections reached the servers
    console.log(`      HAProxy ${haproxy.version}: 10/10, then 20/0 while b drained, then ${count(after, 'a')}/${count(after, 'b')}`);
  });

  it('a lower agent weight sends proportionally fewer new connections', async function () {
    this.timeout(60_000);
    const [a, b] = [await instance('a'), await instance('b')];
    lb = await startHaproxy(scope, haproxy, {
      servers: [
        { name: 'a', port: a.port, agentPort: a.agentPort },
        { name: 'b', port: b.port, agentPort: b.agentPort },
      ],
    });
    b.reply = 'up ready 25%';
    await lb.waitFor((s) => s.b?.weight === 25 && s.a?.weight === 100, 'b at weight 25');
    const who = await connectMany(50);
    // Weighted roundrobin: b gets 25/125 of the connections.
    expect(count(who, 'b')).to.equal(10);
    expect(count(who, 'a')).to.equal(40);
  });

  it('an agent driven by PressureSignals: saturation drains, clearing pressure brings it back', async function () {
    this.timeout(60_000);
    const [a, b] = [await instance('a'), await instance('b')];
    const signals = new PressureSignals();
    await b.agent.close(); // b answers from its pressure instead of a fixed reply
    const agent = await startAgentCheck({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => signals.agentReply());
    agents.push(agent);
    lb = await startHaproxy(scope, haproxy, {
      servers: [
        { name: 'a', port: a.port, agentPort: a.agentPort },
        { name: 'b', port: b.port, agentPort: agent.address.kind === 'tcp' ? agent.address.port : 0 },
      ],
    });
    signals.update(0.97);
    await lb.waitFor((s) => s.b?.status.startsWith('DRAIN') === true, 'b drained at pressure 0.97');
    expect(count(await connectMany(10), 'b')).to.equal(0);
    signals.update(0.8); // still above clearAt: stays drained
    signals.update(0.3);
    await lb.waitFor((s) => s.b?.status.startsWith('DRAIN') === false && s.b.weight === 100, 'b back at full weight');
    expect(count(await connectMany(10), 'b')).to.equal(5);
  });

  describe('harness', () => {
    it('stop() kills haproxy and removes its files', async function () {
      this.timeout(30_000);
      const a = await instance('a');
      lb = await startHaproxy(scope, haproxy, { servers: [{ name: 'a', port: a.port, agentPort: a.agentPort }] });
      const { pid, port } = lb;
      expect((await connectMany(1))[0]).to.equal('a');
      await lb.stop();
      lb = null;
      expect(() => process.kill(pid, 0)).to.throw(/ESRCH/);
      const refused = await connectTo(port).then(
        (s) => (s.destroy(), null),
        (e: NodeJS.ErrnoException) => e.code,
      );
      expect(refused).to.equal('ECONNREFUSED');
    });
  });
});

describe('HAProxy harness: config and stats parsing', () => {
  it('writes the agent-check server lines for HAProxy 2.6', () => {
    const cfg = haproxyConfig({ port: 7000, statsSocket: '/tmp/x.sock', servers: [{ name: 's1', port: 7001, agentPort: 7101 }, { name: 's2', port: 7002 }] });
    expect(cfg).to.include('  balance roundrobin\n');
    expect(cfg).to.include('  server s1 127.0.0.1:7001 weight 100 agent-check agent-addr 127.0.0.1 agent-port 7101 agent-inter 200ms\n');
    expect(cfg).to.include('  server s2 127.0.0.1:7002 weight 100\n');
    expect(cfg).to.include('  bind 127.0.0.1:7000\n');
  });

  it('parses show stat', () => {
    const csv =
      '# pxname,svname,stot,status,weight,agent_status,agent_desc\n' +
      'fe,FRONTEND,3,OPEN,,,\nbe,s1,7,no check,100,L7OK,via agent : up\nbe,s2,0,DRAIN (agent),100,CHECKED,No status change\nbe,BACKEND,7,UP,100,,\n';
    expect(parseStat(csv)).to.deep.equal({
      s1: { name: 's1', status: 'no check', weight: 100, sessionsTotal: 7, agentStatus: 'L7OK', agentDesc: 'via agent : up' },
      s2: { name: 's2', status: 'DRAIN (agent)', weight: 100, sessionsTotal: 0, agentStatus: 'CHECKED', agentDesc: 'No status change' },
    });
  });
});
