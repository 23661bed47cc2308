import { expect } from 'chai';
import { get } from 'node:http';
import { MetricsRegistry, startHttpEndpoints, type HttpEndpoints } from '../../../proxy/index.js';
import { startAgentCheck, type AgentCheckResponder } from '../../../proxy/signals/agent-check.js';
import { computePressure, PressureSignals, type PressureInputs } from '../../../windowing/index.js';
import { connectTo, readAll, Resources } from '../../helpers/sockets.js';

const loopback = { kind: 'tcp', host: '127.0.0.1', port: 0 } as const;
const calm: PressureInputs = {
  heldBackShare: 0,
  bufferedBytes: 0,
  memoryBudgetBytes: 256 << 20,
  eventLoopDelayMs: 0,
  eventLoopDelayTargetMs: 100,
  concurrencyInUse: 0,
  concurrencyLimit: 0,
};

function healthz(port: number): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    }).once('error', reject);
  });
}

describe('agent replies and /healthz follow pressure', () => {
  const res = new Resources();
  let agent: AgentCheckResponder | null = null;
  let http: HttpEndpoints | null = null;

  afterEach(async () => {
    await agent?.close();
    await http?.close();
    agent = http = null;
    await res.closeAll();
  });

  it('as held-back share rises to saturation and falls back', async () => {
    const signals = new PressureSignals({ shedAt: 0.8 });
    agent = await startAgentCheck(loopback, () => signals.agentReply());
    http = await startHttpEndpoints(loopback, new MetricsRegistry(), () => signals.health());
    const agentPort = agent.address.kind === 'tcp' ? agent.address.port : 0;
    const httpPort = http.address.kind === 'tcp' ? http.address.port : 0;

    const observe = async (heldBackShare: number) => {
      signals.update(computePressure({ ...calm, heldBackShare }));
      const s = res.socket(await connectTo(agentPort));
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      await readAll(s);
      s.end();
      const h = await healthz(httpPort);
      return [Buffer.concat(chunks).toString(), h.status, h.retryAfter ?? '-'];
    };

    const trace = [];
    for (const share of [0, 0.6, 0.85, 0.97, 0.75, 0.7, 0.2]) trace.push(await observe(share));
    expect(trace).to.deep.equal([
      ['up ready 100%\n', 200, '-'],
      ['up ready 78%\n', 200, '-'],
      ['up ready 23%\n', 503, '1'],
      ['drain\n', 503, '1'],
      ['drain\n', 503, '1'], // 0.75: not yet clear of shedding nor draining
      ['up ready 56%\n', 200, '-'], // 0.7 = clearAt: both clear
      ['up ready 100%\n', 200, '-'],
    ]);
    const h = await healthz(httpPort);
    expect(h.body).to.equal('ok pressure=0.20 held-back=0.20 memory=0.00 event-loop=0.00 concurrency=0.00\n');
  });
});
