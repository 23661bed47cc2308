import { expect } from 'chai';
import { createServer } from 'node:net';
import { startAgentCheck, type AgentCheckResponder } from '../../proxy/signals/agent-check.js';
import { RelayServer } from '../../proxy/index.js';
import { findHaproxy, haproxyUnavailableReason, startHaproxy, type Haproxy, type RunningHaproxy } from '../../scenarios/harness/haproxy.js';
import { paceReads } from '../../scenarios/harness/pace.js';
import { Scope } from '../../scenarios/harness/scope.js';
import { connectTo, listen, Resources } from '../helpers/sockets.js';

/**
 * Issue 6's end-to-end shape with real pieces: HAProxy (roundrobin, agent checks every 200 ms)
 * in front of two sluice relays, one whose target reads slowly. The slow instance's pressure
 * rises from its held-back connections, its agent says drain and its /healthz says 503, and
 * HAProxy sends new connections to the healthy one.
 */
describe('e2e: sluice relays behind HAProxy shed load from a slow target (real haproxy)', function () {
  const res = new Resources();
  const scope = new Scope();
  let haproxy: Haproxy;
  let lb: RunningHaproxy | null = null;
  const relays: RelayServer[] = [];
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
    await Promise.all(relays.splice(0).map((r) => r.shutdown(0)));
    await res.closeAll();
  });

  /** A target that counts connections and reads at most `bytesPerS` on each (0 = as fast as it can). */
  async function target(bytesPerS: number): Promise<{ port: number; connections: () => number }> {
    let connections = 0;
    const server = res.server(
      createServer((s) => {
        connections++;
        s.on('error', () => {});
        paceReads(s, bytesPerS);
      }),
    );
    return { port: await listen(server), connections: () => connections };
  }

  async function instance(targetPort: number): Promise<{ relay: RelayServer; port: number; agentPort: number }> {
    const relay = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'tcp', host: '127.0.0.1', port: targetPort } });
    relays.push(relay);
    const address = await relay.listen();
    const agent = await startAgentCheck({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => relay.agentReply());
    agents.push(agent);
    return { relay, port: address.kind === 'tcp' ? address.port : 0, agentPort: agent.address.kind === 'tcp' ? agent.address.port : 0 };
  }

  /** A client that pushes `bytes` through the balancer as fast as it is let. */
  async function pushClient(bytes: number): Promise<void> {
    const s = res.socket(await connectTo(lb!.port));
    s.resume();
    const chunk = Buffer.alloc(64 * 1024, 7);
    for (let sent = 0; sent < bytes && !s.destroyed; sent += chunk.length) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
  }

  it('drains the instance whose target is slow and moves new connections to the healthy one', async function () {
    this.timeout(90_000);
    const slowTarget = await target(256 * 1024);
    const fastTarget = await target(0);
    const slow = await instance(slowTarget.port);
    const fast = await instance(fastTarget.port);
    lb = await startHaproxy(scope, haproxy, {
      servers: [
        { name: 'slow', port: slow.port, agentPort: slow.agentPort },
        { name: 'fast', port: fast.port, agentPort: fast.agentPort },
      ],
      agentInterMs: 200,
    });
    await lb.waitFor((s) => s.slow?.agentStatus === 'L7OK' && s.fast?.agentStatus === 'L7OK', 'both agents answered');

    // Six producers, 50 ms apart: roundrobin gives the slow instance three it cannot keep up with.
    // 16 MiB each: the fast instance is done with its three in moments, and both relays share
    // this process's event loop, which must not be what makes the healthy one look busy.
    for (let i = 0; i < 6; i++) {
      void pushClient(16 * 1024 * 1024).catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
    // Both relays share this process's event loop: a moment of event-loop delay can push the
    // pressure of both up and back down within one agent interval. Wait for the state the slow
    // target causes and that lasts: slow drained and unhealthy, fast not drained and healthy.
    await lb.waitFor(
      (s) => s.slow?.status.startsWith('DRAIN') === true && s.fast?.status.startsWith('DRAIN') === false && !slow.relay.health().ok && fast.relay.health().ok,
      'the slow instance drained by its agent, the fast one up',
      30_000,
    );
    expect(slow.relay.health().ok, 'slow /healthz').to.equal(false);
    expect(slow.relay.health().retryAfterS).to.be.at.least(1);
    expect(fast.relay.health().ok, 'fast /healthz').to.equal(true);

    const slowBefore = slowTarget.connections();
    const fastBefore = fastTarget.connections();
    for (let i = 0; i < 10; i++) {
      const s = res.socket(await connectTo(lb.port));
      s.end('x');
    }
    await new Promise<void>((resolve) => {
      const check = () => (fastTarget.connections() - fastBefore + slowTarget.connections() - slowBefore >= 10 ? resolve() : setTimeout(check, 20));
      check();
    });
    expect(slowTarget.connections() - slowBefore, 'new connections reaching the slow instance').to.equal(0);
    expect(fastTarget.connections() - fastBefore).to.equal(10);
  });
});
