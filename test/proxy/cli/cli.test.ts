import { expect } from 'chai';
import { readAll, connectTo, echoServer, listen, Resources } from '../../helpers/sockets.js';
import { expectUsageError, readyPort, runCli, startCli, type RunningCli } from '../../helpers/cli.js';
import { createServer as createNetServer } from 'node:net';
import { get } from 'node:http';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function fetchText(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', () => resolve(''));
  });
}

describe('sluice command line', () => {
  const res = new Resources();
  const running: RunningCli[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.kill()));
    await res.closeAll();
  });

  const bad: [string[], RegExp][] = [
    [['relay', '--target', '127.0.0.1:1'], /--listen is required/],
    [['relay', '--listen', '127.0.0.1:0', '--target', 'nope'], /--target: expected HOST:PORT/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--window', '12XB'], /--window: expected a size/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--idle-timeout', 'soon'], /--idle-timeout: expected a duration/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--max-conns', '-3'], /--max-conns: expected a whole number/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--log', 'xml'], /--log: expected one of text\|json/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--bogus'], /unknown flag --bogus/],
    [['relay', '--listen'], /--listen needs a value/],
    // Limits in the flag's own units.
    [['demo', '--duration', '0'], /--duration: must be at least 500ms, got "0"$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--accept-proxy-from'], /--accept-proxy-from needs a value \(CIDR\[,CIDR\.\.\.\]\)$/m],
    [['teleport'], /unknown command "teleport"/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--overflow', 'drop-newest'], /--overflow drop-newest needs --messages/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--messages', 'json'], /--messages: expected one of lines\|u32be/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--messages', 'lines', '--overflow', 'spill', '--spill-dir', '/proc/self/status/x'], /--spill-dir \/proc\/self\/status\/x is not a writable directory/],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--workers', '2', '--messages', 'lines', '--overflow', 'spill', '--spill-dir', '/proc/self/status/x'], /--spill-dir \/proc\/self\/status\/x is not a writable directory/],
    // procfs answers mkdir with ENOENT under an existing parent: a recursive mkdir would loop there forever.
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--messages', 'lines', '--overflow', 'spill', '--spill-dir', '/proc/x'], /--spill-dir \/proc\/x is not a writable directory \(E[A-Z]+\)$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--workers', '2', '--messages', 'lines', '--overflow', 'spill', '--spill-dir', '/proc/x'], /--spill-dir \/proc\/x is not a writable directory \(E[A-Z]+\)$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--shed-at', '1.5'], /--shed-at: must be at most 1/],
    [['demo', '--strategies', 'block,teleport'], /--strategies: unknown strategy "teleport"/],
    // --toxic: the same parser as the API's toxics, its errors named by the flag (the primary checks it before any worker starts).
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--toxic', 'walrus'], /^sluice relay: --toxic: unknown toxic type "walrus" \(one of noop, latency, /m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--toxic', 'latency:downstream:latency=soon'], /^sluice relay: --toxic: attributes\.latency must be a whole number >= 0 \(milliseconds\)$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--toxic', 'latency:sideways'], /^sluice relay: --toxic: stream was invalid, can be either upstream or downstream$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--toxic', 'latency:latency=1,bogus=2'], /^sluice relay: --toxic: latency has no attribute 'bogus' \(it has latency, jitter\)$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--toxic', 'drop:upstream:probability=0.5'], /^sluice relay: --toxic: toxic drop_upstream: drop needs message mode \(messages\)$/m],
    [['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--workers', '2', '--toxic', 'walrus'], /^sluice relay: --toxic: unknown toxic type "walrus"/m],
  ];
  for (const [args, message] of bad) {
    it(`\`sluice ${args.join(' ')}\` exits 2 with one line naming the problem`, async () => {
      await expectUsageError(args, message);
    });
  }

  it('`sluice relay --help` lists every option with an example', async () => {
    const { code, stdout } = await runCli(['relay', '--help']);
    expect(code).to.equal(0);
    for (const flag of ['--listen', '--target', '--window', '--max-conns', '--max-queue', '--queue-timeout', '--connect-timeout', '--idle-timeout', '--drain-timeout', '--metrics', '--log', '--messages', '--overflow', '--max-message', '--spill-dir', '--spill-max', '--memory-budget', '--adaptive-concurrency', '--shed-at', '--agent', '--rate']) {
      expect(stdout).to.include(flag);
    }
    expect(stdout).to.match(/Examples:\n {2}sluice relay --listen/);
  });

  it('`sluice --help` lists the commands', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).to.equal(0);
    expect(stdout).to.include('relay');
  });

  it('prints the ready line with the real port, relays, logs to stderr, and exits 0 on SIGTERM', async () => {
    const target = echoServer(res);
    const targetPort = await listen(target);
    const cli = startCli(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--log', 'json']);
    running.push(cli);
    const port = await readyPort(cli, 'relay');
    expect(port).to.be.greaterThan(0);
    const client = res.socket(await connectTo(port));
    const reply = readAll(client);
    client.end('ping');
    expect((await reply).bytes).to.equal(4);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).to.equal(0);
    const log = cli.stderr().split('\n').find((l) => l.startsWith('{'));
    expect(JSON.parse(log!)).to.include({ conn: 1, bytes_up: 4, bytes_down: 4, end: 'closed' });
    expect(cli.stdout()).to.equal(`sluice relay listening on 127.0.0.1:${port}\n`);
  });

  it('a second SIGTERM during the drain exits at once with 1', async () => {
    const target = echoServer(res);
    const targetPort = await listen(target);
    const cli = startCli(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--drain-timeout', '10m', '--quiet']);
    running.push(cli);
    const port = await readyPort(cli, 'relay');
    const client = res.socket(await connectTo(port));
    client.write('held open'); // keeps the drain waiting: only the second signal can end it
    await new Promise((r) => client.once('data', r));
    cli.child.kill('SIGTERM');
    while (!cli.stderr().includes('draining up to')) await new Promise((r) => cli.child.stderr!.once('data', r));
    cli.child.kill('SIGTERM');
    expect(await cli.exited).to.equal(1);
  });

  it('--workers 2: one ready line, clients served, /metrics sums what the workers counted, SIGTERM drains and exits 0', async () => {
    const target = echoServer(res);
    const targetPort = await listen(target);
    const metricsPort = await freePort();
    const cli = startCli(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--workers', '2', '--metrics', `127.0.0.1:${metricsPort}`, '--quiet']);
    running.push(cli);
    const port = await readyPort(cli, 'relay');
    for (let i = 0; i < 8; i++) {
      const client = res.socket(await connectTo(port));
      const reply = readAll(client);
      client.end(`hello ${i}`);
      expect((await reply).bytes).to.equal(`hello ${i}`.length);
    }
    let metrics = '';
    for (let i = 0; i < 200 && !/sluice_connections_total 8\b/.test(metrics); i++) {
      await new Promise((r) => setTimeout(r, 25));
      metrics = await fetchText(metricsPort, '/metrics');
    }
    expect(metrics).to.match(/sluice_connections_total 8\b/);
    expect(metrics).to.match(/sluice_workers 2\b/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).to.equal(0);
    expect(cli.stdout().trim().split('\n')).to.deep.equal([`sluice relay listening on 127.0.0.1:${port}`]);
  });

  it('--metrics: stderr names the live page after the metrics line; GET / is the page and /connections lists each client', async () => {
    const held: import('node:net').Socket[] = [];
    const target = res.server(createNetServer((s) => held.push(s)));
    const targetPort = await listen(target);
    const metricsPort = await freePort();
    const cli = startCli(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--metrics', `127.0.0.1:${metricsPort}`, '--quiet']);
    running.push(cli);
    const port = await readyPort(cli, 'relay');
    const client = res.socket(await connectTo(port));
    let page = { total: 0, connections: [] as { client: string; worker?: number }[] };
    for (let i = 0; i < 200 && page.total === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      page = JSON.parse((await fetchText(metricsPort, '/connections')) || '{"total":0,"connections":[]}') as typeof page;
    }
    expect(page.connections.map((c) => c.client)).to.deep.equal([`127.0.0.1:${client.localPort}`]);
    expect(page.connections[0]).to.not.have.property('worker');
    expect(await fetchText(metricsPort, '/')).to.include('<title>sluice · live</title>');
    expect(cli.stderr().split('\n').slice(0, 2)).to.deep.equal([
      `sluice: metrics on http://127.0.0.1:${metricsPort}/metrics`,
      `sluice: live page on http://127.0.0.1:${metricsPort}/ (lists client addresses: keep --metrics private)`,
    ]);
  });

  it('--workers 2: /connections asks every worker and merges their answers, each entry naming its worker', async () => {
    const held: import('node:net').Socket[] = [];
    const target = res.server(createNetServer((s) => held.push(s)));
    const targetPort = await listen(target);
    const metricsPort = await freePort();
    const cli = startCli(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--workers', '2', '--metrics', `127.0.0.1:${metricsPort}`, '--quiet']);
    running.push(cli);
    const port = await readyPort(cli, 'relay');
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(res.socket(await connectTo(port)));
    let page = { total: 0, connections: [] as { client: string; worker?: number }[] };
    for (let i = 0; i < 200 && page.total < 4; i++) {
      await new Promise((r) => setTimeout(r, 25));
      page = JSON.parse((await fetchText(metricsPort, '/connections')) || '{"total":0,"connections":[]}') as typeof page;
    }
    expect(page.total).to.equal(4);
    expect(page.connections.map((c) => c.client).sort()).to.deep.equal(clients.map((c) => `127.0.0.1:${c.localPort}`).sort());
    for (const c of page.connections) expect(c.worker).to.be.a('number');
    const limited = JSON.parse(await fetchText(metricsPort, '/connections?limit=1')) as typeof page;
    expect([limited.total, limited.connections.length]).to.deep.equal([4, 1]);
  });

  it('exits 1 with one line when the listen address is taken', async () => {
    const taken = res.server((await import('node:net')).createServer());
    const port = await listen(taken);
    const { code, stderr } = await runCli(['relay', '--listen', `127.0.0.1:${port}`, '--target', '127.0.0.1:1']);
    expect(code).to.equal(1);
    expect(stderr).to.match(/cannot listen: .*EADDRINUSE/);
  });
});
