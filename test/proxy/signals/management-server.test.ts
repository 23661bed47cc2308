import { expect } from 'chai';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { AcceptErrorCounts } from '../../../proxy/net/accept-guard.js';
import { FdReserve } from '../../../proxy/net/fd-reserve.js';
import { startHttpEndpoints, type HttpEndpoints } from '../../../proxy/signals/http-endpoints.js';
import { BodyTooLargeError, createManagementServer, readBody, type ManagementServer } from '../../../proxy/signals/management-server.js';
import { MetricsRegistry } from '../../../proxy/signals/metrics.js';
import { closed, connectTo, Resources, until } from '../../helpers/sockets.js';
import { tcp } from '../../helpers/tunnel.js';

const HALF_REQUEST = 'GET /metrics HTTP/1.1\r\nHost: sluice\r\n';

function fetch(port: number, path: string, init: { method?: string; body?: Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Lets two turns of the event loop pass: a connection that has just arrived is never the one to make room. */
async function twoTurns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}

/** Everything a socket receives until it closes. */
function received(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('latin1').on('data', (d: string) => (text += d));
  return closed(socket).then(() => text);
}

describe('management port (metrics, /healthz)', () => {
  const res = new Resources();
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
    await res.closeAll();
  });

  const noLimit = () => new FdReserve({ limit: null });

  it('under a slowloris holds at most maxConnections, closing the oldest unfinished one for each newcomer, and /healthz still answers', async () => {
    const acceptErrors = new AcceptErrorCounts();
    const notices: string[] = [];
    const endpoints: HttpEndpoints = await startHttpEndpoints(tcp(0), new MetricsRegistry(), () => ({ ok: true }), {
      maxConnections: 4,
      fdReserve: noLimit(),
      acceptErrors,
      onNotice: (t) => notices.push(t),
    });
    started.push(endpoints);
    const port = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;

    const slow: Promise<string>[] = [];
    let most = 0;
    for (let i = 0; i < 10; i++) {
      const socket = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
      slow.push(received(socket));
      socket.write(HALF_REQUEST);
      await until(() => endpoints.connections + acceptErrors.get('management-evicted') === i + 1, `slow connection ${i} accepted`);
      await twoTurns();
      most = Math.max(most, endpoints.connections);
    }
    expect(most).to.equal(4);
    expect(acceptErrors.get('management-evicted')).to.equal(6);
    // The six oldest were closed unanswered.
    for (const text of slow.slice(0, 6)) expect(await text).to.equal('');
    expect(notices).to.have.length(1);
    expect(notices[0]).to.match(/^metrics port 127\.0\.0\.1:\d+: at its cap of 4 connections.*\{reason="management-evicted"\}$/);

    // The cap is full of slow peers, and a health check still gets its answer: the oldest slow one makes room.
    const health = await fetch(port, '/healthz');
    expect(health).to.deep.equal({ status: 200, body: 'ok\n' });
    expect(await slow[6]).to.equal('');
    expect(endpoints.connections).to.be.at.most(4);
  });

  it('closes a peer that does not finish its headers within headersTimeoutMs with 408', async () => {
    const endpoints = await startHttpEndpoints(tcp(0), new MetricsRegistry(), undefined, { headersTimeoutMs: 200, fdReserve: noLimit(), acceptErrors: new AcceptErrorCounts() });
    started.push(endpoints);
    const port = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    const silent = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
    const half = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
    const texts = [received(silent), received(half)];
    half.write(HALF_REQUEST);
    for (const text of texts) expect(await text).to.match(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    await until(() => endpoints.connections === 0, 'both released');
  });

  it('closes a newcomer unanswered, counted as management-full, when every connection is in the middle of an answer', async () => {
    const acceptErrors = new AcceptErrorCounts();
    const held: (() => void)[] = [];
    const management: ManagementServer = createManagementServer(
      (_req, res) => held.push(() => res.end('late\n')), // answers only when the test says so
      { name: 'control API', maxConnections: 2, fdReserve: noLimit(), acceptErrors },
    );
    started.push(management);
    const address = await management.listen(tcp(0));
    const port = address.kind === 'tcp' ? address.port : 0;
    const answers = [fetch(port, '/a'), fetch(port, '/b')];
    await until(() => held.length === 2, 'two requests being answered');
    const newcomer = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
    const text = received(newcomer);
    newcomer.write('GET /c HTTP/1.1\r\nHost: sluice\r\n\r\n');
    expect(await text).to.equal('');
    expect(acceptErrors.get('management-full')).to.equal(1);
    expect(management.cap.size).to.equal(2);
    held.forEach((answer) => answer());
    expect((await Promise.all(answers)).map((a) => a.body)).to.deep.equal(['late\n', 'late\n']);
  });

  it('stops growing while the process is short of descriptors: a newcomer replaces the oldest idle connection', async () => {
    const acceptErrors = new AcceptErrorCounts();
    let open = 0;
    const fds = new FdReserve({ limit: 100, reserve: 10, countOpen: () => open, recountMs: 0 });
    const endpoints = await startHttpEndpoints(tcp(0), new MetricsRegistry(), undefined, { maxConnections: 16, fdReserve: fds, acceptErrors });
    started.push(endpoints);
    const port = endpoints.address.kind === 'tcp' ? endpoints.address.port : 0;
    const first = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
    const firstText = received(first);
    await until(() => endpoints.connections === 1, 'the first connection');
    await twoTurns();
    open = 95; // management ports may use half the reserve: 100 - 5
    expect((await fetch(port, '/healthz')).status).to.equal(200);
    expect(await firstText).to.equal('');
    expect(acceptErrors.get('management-evicted')).to.equal(1);
  });

  it('refuses a request body past the limit with 413 (readBody), and reads one within it', async () => {
    const management = createManagementServer(
      (req, res) => {
        readBody(req, 1024).then(
          (body) => res.end(`got ${body.length}\n`),
          (err: unknown) => {
            const status = err instanceof BodyTooLargeError ? err.status : 400;
            res.writeHead(status, { connection: 'close' }).end();
          },
        );
      },
      { name: 'control API', fdReserve: noLimit(), acceptErrors: new AcceptErrorCounts() },
    );
    started.push(management);
    const address = await management.listen(tcp(0));
    const port = address.kind === 'tcp' ? address.port : 0;
    expect(await fetch(port, '/', { method: 'POST', body: Buffer.alloc(1024) })).to.deep.equal({ status: 200, body: 'got 1024\n' });
    expect((await fetch(port, '/', { method: 'POST', body: Buffer.alloc(1025) })).status).to.equal(413);
  });

  it('answers one request at a time per connection: a peer that pipelines a thousand is closed at its second, the rest never built', async () => {
    let built = 0;
    // Small answers: Node pauses the parser only once answers pile up past the socket's buffer.
    const management = createManagementServer((_req, res) => (built++, res.end('ok')), { name: 'metrics port', fdReserve: noLimit(), acceptErrors: new AcceptErrorCounts() });
    started.push(management);
    const address = await management.listen(tcp(0));
    const port = address.kind === 'tcp' ? address.port : 0;
    const greedy = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
    const gone = closed(greedy);
    greedy.resume();
    greedy.write('GET /metrics HTTP/1.1\r\nHost: sluice\r\n\r\n'.repeat(1000));
    await gone;
    expect(built).to.equal(1);
    // A client that waits for each answer is served as before.
    expect((await fetch(port, '/metrics')).body).to.equal('ok');
  });

  for (const [what, start] of [
    ['whose body is still dribbling in', (s: Socket) => s.write('POST /proxies HTTP/1.1\r\nHost: sluice\r\nContent-Length: 100\r\n\r\n{')],
    ['that does not read the answer it was handed', (s: Socket) => s.write('GET /big HTTP/1.1\r\nHost: sluice\r\n\r\n')],
  ] as const) {
    it(`makes room for a newcomer by closing a connection ${what}`, async () => {
      const acceptErrors = new AcceptErrorCounts();
      const handed: string[] = [];
      const management = createManagementServer(
        (req, res) => {
          if (req.method === 'POST') return void readBody(req).then(() => res.end('ok'));
          handed.push(req.url ?? '');
          res.end(req.url === '/big' ? Buffer.alloc(32 * 1024 * 1024) : 'ok');
        },
        { name: 'control API', maxConnections: 1, fdReserve: noLimit(), acceptErrors },
      );
      started.push(management);
      const address = await management.listen(tcp(0));
      const port = address.kind === 'tcp' ? address.port : 0;
      const slow = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
      slow.pause(); // reads nothing
      const gone = closed(slow);
      start(slow);
      await until(() => management.cap.size === 1 && (what.startsWith('whose') || handed.length === 1), 'the slow connection held');
      await twoTurns();
      expect((await fetch(port, '/healthz')).body).to.equal('ok');
      expect(acceptErrors.get('management-evicted')).to.equal(1);
      slow.resume(); // what it was sent before it was closed, then the end
      await gone;
    });
  }

});
