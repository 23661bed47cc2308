import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import type { Socket } from 'node:net';
import { CLI_PATH } from '../../helpers/cli.js';
import { connectTo, echoServer, listen, Resources, until } from '../../helpers/sockets.js';

// Room for start-up: Node reads the relay's module graph with ~40 files open at once, which is not
// what this test is about (at 64 any new module on the start path broke it). 40 clients with their
// target connections (80 descriptors) still run into the reserve of 32.
const FD_LIMIT = 128;

function fetchText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Whether a client gets its byte echoed (true) or is closed first (false). */
function echoed(client: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    client.once('data', () => resolve(true));
    client.once('close', () => resolve(false));
    client.write('x');
  });
}

describe(`sluice relay under ulimit -n ${FD_LIMIT}`, function () {
  const res = new Resources();
  let child: ChildProcess | null = null;
  before(function () {
    if (process.platform !== 'linux' || !existsSync('/bin/bash')) this.skip();
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    child = null;
    await res.closeAll();
  });

  it('keeps descriptors in reserve: clients past it are closed at once, counted and logged once; /healthz still answers', async () => {
    const target = echoServer(res);
    const targetPort = await listen(target);
    child = spawn('/bin/bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "$@"`, 'sluice', process.execPath, CLI_PATH, 'relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--metrics', '127.0.0.1:0', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await until(() => /listening on [^\n]*:\d+\n/.test(stdout) && /metrics on http:\/\/[^\n]*:\d+\/metrics/.test(stderr), 'the ready and metrics lines');
    const port = Number(/listening on [^\n]*:(\d+)\n/.exec(stdout)![1]);
    const metricsPort = Number(/metrics on http:\/\/[^\n]*:(\d+)\/metrics/.exec(stderr)![1]);

    // 40 clients held open would take 80 descriptors with their target connections.
    let served = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const client = res.socket(await connectTo(port, '127.0.0.1', { allowHalfOpen: false }));
      if (await echoed(client)) served++;
      else refused++;
    }
    expect(served).to.be.above(0);
    expect(refused).to.be.above(0);

    const health = await fetchText(metricsPort, '/healthz');
    expect(health.status).to.equal(200);
    const metrics = (await fetchText(metricsPort, '/metrics')).body;
    expect(metrics).to.include(`sluice_accept_errors_total{reason="fd-reserve"} ${refused}\n`);
    expect(metrics).to.include('sluice_accept_errors_total{reason="emfile"} 0\n');
    const told = stderr.split('\n').filter((line) => line.includes('fd-reserve'));
    expect(told).to.have.length(1);
    expect(told[0]).to.match(new RegExp(`^sluice: relay listener 127\\.0\\.0\\.1:\\d+: \\d+ of ${FD_LIMIT} descriptors in use: new clients are closed at once while fewer than 32 are free`));
  });
});
