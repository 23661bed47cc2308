import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyHeaderDecoder } from '../../windowing/index.js';
import { RelayServer, type RelayServerOptions } from '../../proxy/index.js';
import { findHaproxy, haproxyUnavailableReason, type Haproxy } from '../../scenarios/harness/haproxy.js';
import { connectTo, listen, Resources } from '../helpers/sockets.js';
import { tcp } from '../helpers/tunnel.js';

/** A free port on 127.0.0.1 (closed again before it is handed to haproxy). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs haproxy in the foreground with `config` (its frontend on `port`) until stopped. */
async function runHaproxy(haproxy: Haproxy, config: string, port: number): Promise<{ stop(): Promise<void>; output(): string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pp-haproxy-'));
  writeFileSync(join(dir, 'haproxy.cfg'), config);
  const child: ChildProcess = spawn(haproxy.path, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      (await connectTo(port)).destroy();
      return { stop, output: () => output };
    } catch {
      if (i > 100 || child.exitCode !== null) {
        await stop();
        throw new Error(`haproxy did not start: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Everything a socket receives until it ends, as text. */
function readText(socket: import('node:net').Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
}

const GLOBAL = ['global', '  log stderr format raw local0 err', 'defaults', '  timeout connect 5s', '  timeout client 30s', '  timeout server 30s'];

describe('PROXY protocol with a real HAProxy (installed by .ci/deps)', function () {
  this.timeout(30_000);
  const res = new Resources();
  const servers: RelayServer[] = [];
  const stops: (() => Promise<void>)[] = [];
  let haproxy: Haproxy | null = null;

  before(async function () {
    haproxy = await findHaproxy();
    if (!haproxy) {
      console.log(`[haproxy] skipping: ${haproxyUnavailableReason()}`);
      this.skip();
    }
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  async function relay(targetPort: number, options: Partial<RelayServerOptions>): Promise<number> {
    const server = new RelayServer({ listen: tcp(0), target: tcp(targetPort), ...options });
    servers.push(server);
    const a = await server.listen();
    return a.kind === 'tcp' ? a.port : 0;
  }

  it('HAProxy send-proxy-v2 in front of `--accept-proxy --send-proxy v1`: the target sees the client HAProxy saw', async () => {
    // The target answers with the source address of the header it got, then the bytes after it (up
    // to the client's FIN: the header and the data may come in separate reads).
    const target = res.server(
      createServer({ allowHalfOpen: true }, (s) => {
        const decoder = new ProxyHeaderDecoder();
        let source: string | null = null;
        let rest = '';
        s.on('data', (d: Buffer) => {
          if (source !== null) return void (rest += d.toString());
          const r = decoder.push(d);
          if (r.kind === 'header' && r.header.kind === 'tcp4') [source, rest] = [`${r.header.source.address}:${r.header.source.port}`, r.rest.toString()];
          else if (r.kind === 'error') s.end(`error ${r.error.code}`);
        });
        s.on('end', () => !s.writableEnded && s.end(source === null ? 'no header' : `${source} ${rest}`));
      }),
    );
    const sluicePort = await relay(await listen(target), { acceptProxy: true, sendProxy: 'v1' });
    const lbPort = await freePort();
    const lb = await runHaproxy(
      haproxy!,
      [...GLOBAL, 'frontend fe', `  bind 127.0.0.1:${lbPort}`, '  mode tcp', '  default_backend be', 'backend be', '  mode tcp', `  server s1 127.0.0.1:${sluicePort} send-proxy-v2`, ''].join('\n'),
      lbPort,
    );
    stops.push(lb.stop);
    const client = res.socket(await connectTo(lbPort));
    const own = client.localPort;
    const reply = readText(client);
    client.end('hello');
    expect(await reply, lb.output()).to.equal(`127.0.0.1:${own} hello`);
  });

  it('`--send-proxy v2` in front of an HAProxy with accept-proxy: HAProxy reports the original client as src', async () => {
    const lbPort = await freePort();
    const lb = await runHaproxy(
      haproxy!,
      [
        ...GLOBAL,
        'frontend fe',
        `  bind 127.0.0.1:${lbPort} accept-proxy`,
        '  mode http',
        '  http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port]"',
        '',
      ].join('\n'),
      lbPort,
    );
    stops.push(lb.stop);
    const sluicePort = await relay(lbPort, { sendProxy: 'v2' });
    const client = res.socket(await connectTo(sluicePort));
    const own = client.localPort;
    const reply = readText(client);
    client.end('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    const text = await reply;
    expect(text, lb.output()).to.match(/^HTTP\/1\.[01] 200/);
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).to.equal(`127.0.0.1:${own}`);
  });

  it('`--send-proxy v2` for a client on a unix socket is a LOCAL header HAProxy accepts (it refuses PROXY with UNSPEC)', async () => {
    const lbPort = await freePort();
    const lb = await runHaproxy(
      haproxy!,
      [...GLOBAL, 'frontend fe', `  bind 127.0.0.1:${lbPort} accept-proxy`, '  mode http', '  http-request return status 200 content-type text/plain string "through"', ''].join('\n'),
      lbPort,
    );
    stops.push(lb.stop);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pp-unix-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'relay.sock');
    const server = new RelayServer({ listen: { kind: 'unix', path }, target: tcp(lbPort), sendProxy: 'v2' });
    servers.push(server);
    await server.listen();
    const client = res.socket(await new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = createConnection(path, () => resolve(s)).once('error', reject);
    }));
    const reply = readText(client);
    client.end('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    const text = await reply;
    expect(text, lb.output()).to.match(/^HTTP\/1\.[01] 200/);
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).to.equal('through');
  });
});
