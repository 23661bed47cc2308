import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { readyPort, startCli, type RunningCli } from '../../helpers/cli.js';
import { httpRequest } from '../../helpers/http.js';
import { collectText, connectTo, echoServer, listen, portOf, readAll, Resources, until, writeAll } from '../../helpers/sockets.js';

/** One TCP socket a process holds, as the kernel lists it. */
interface TcpSocket {
  state: 'LISTEN' | 'ESTABLISHED' | 'OTHER';
  localPort: number;
  remotePort: number;
}

/**
 * The TCP sockets a process holds open: the socket inodes among its file descriptors
 * (/proc/PID/fd), looked up in the kernel's tables (/proc/PID/net/tcp and tcp6). Sockets it has
 * closed (TIME_WAIT has no owner) and its stdio pipes (unix sockets) are not among them.
 */
function tcpSocketsOf(pid: number): TcpSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the read
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  const sockets: TcpSocket[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const path = `/proc/${pid}/net/${table}`;
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const port = (address: string) => parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
      const state = f[3] === '0A' ? 'LISTEN' : f[3] === '01' ? 'ESTABLISHED' : 'OTHER';
      sockets.push({ state, localPort: port(f[1]!), remotePort: port(f[2]!) });
    }
  }
  return sockets;
}

/** Polls `condition` every 10 ms (a pace, reading /proc is not free); fails with `what()` (read then) after 3000 tries. */
async function eventually(condition: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error(`gave up waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A whole round trip of `data` through 127.0.0.1:port (an echo behind it), checked by sha256. */
async function checksummedEcho(host: string, port: number, data: Buffer): Promise<void> {
  const client = await connectTo(port, host);
  try {
    const got = readAll(client);
    await writeAll(client, [data]);
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
  } finally {
    client.destroy();
  }
}

/**
 * A real SIGHUP storm on a real `sluice serve` process: fifty signals in about a second, the file
 * rewritten between some (settings changed, a proxy moved, once a broken file), connections open
 * throughout. What must hold afterwards is counted from the kernel's side, not the process's word.
 */
describe('sluice serve: a SIGHUP storm (50 in about a second) with connections open', function () {
  this.timeout(60_000);
  const res = new Resources();
  let cli: RunningCli | null = null;
  let dir: string;
  beforeEach(function () {
    if (!existsSync('/proc/self/net/tcp')) this.skip(); // counts sockets through Linux's /proc
    dir = mkdtempSync(join(tmpdir(), 'sluice-storm-'));
  });
  afterEach(async () => {
    await cli?.kill();
    cli = null;
    await res.closeAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves exactly one listener per proxy and the API, every open connection working, a checksummed echo through each proxy, and no socket behind', async () => {
    const upstream = `127.0.0.1:${await listen(echoServer(res))}`;
    const echoPort = portOf(upstream);
    const path = join(dir, 'sluice.json');
    // Two shapes of the file: `one` changes settings (its successor takes the listening socket
    // over), `two` moves between two loopback addresses (a new listener, the old one drained).
    const shapes = [
      { proxies: [{ name: 'one', listen: '127.0.0.1:0', upstream, window: '64KiB' }, { name: 'two', listen: '127.0.0.1:0', upstream }] },
      { proxies: [{ name: 'one', listen: '127.0.0.1:0', upstream, window: '128KiB', 'max-conns': 50 }, { name: 'two', listen: '127.0.0.2:0', upstream, window: '32KiB' }] },
    ];
    writeFileSync(path, JSON.stringify(shapes[0]));
    cli = startCli(['serve', '--config', path, '--api', '127.0.0.1:0', '--drain-timeout', '60s', '--quiet']);
    const apiPort = await readyPort(cli, 'serve');
    // Where each proxy listens now, as the API says.
    const hosts = async () => {
      const proxies = JSON.parse((await httpRequest(apiPort, '/proxies')).body) as Record<string, { listen: string }>;
      return Object.values(proxies).map((p) => ({ host: p.listen.slice(0, p.listen.lastIndexOf(':')), port: portOf(p.listen) }));
    };

    // Two connections open on each proxy, each with a round trip done.
    const open: { socket: Socket; got: ReturnType<typeof collectText>; sent: string }[] = [];
    for (const { host, port } of await hosts()) {
      for (let i = 0; i < 2; i++) {
        const socket = res.socket(await connectTo(port, host));
        const c = { socket, got: collectText(socket), sent: `hello ${port}/${i};` };
        socket.write(c.sent);
        open.push(c);
      }
    }
    await until(() => open.every((c) => c.got.text() === c.sent), 'a round trip on every open connection');

    const pid = cli.child.pid!;
    for (let i = 0; i < 50; i++) {
      if (i % 5 === 0) writeFileSync(path, i === 25 ? '{"proxies": [' : JSON.stringify(shapes[(i / 5) % 2]));
      cli.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 20)); // a pace (50 in about a second), not a deadline
    }
    // The last shape written (i = 45) is shapes[1]. A reload through the API queues behind every
    // SIGHUP's: once it answers, they are applied. A signal still on its way reloads the same file.
    const last = await httpRequest(apiPort, '/reload', { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(last.status, last.body).to.equal(200);
    expect(cli.child.exitCode, cli.stderr()).to.equal(null);
    // Every line a SIGHUP's answer: a reload, or the broken file refused; the file's changes applied.
    const lines = cli.stderr().trimEnd().split('\n');
    for (const line of lines) expect(line).to.match(/^sluice: SIGHUP: (reloaded .*: \d+ added, \d+ removed, \d+ changed, \d+ unchanged|.*: not JSON .*; the running configuration stays)$/);
    expect(lines.some((l) => / 2 changed, /.test(l)), 'a reload changed both proxies').to.equal(true);
    const proxies = await hosts();
    expect(proxies.map((p) => p.host).sort()).to.deep.equal(['127.0.0.1', '127.0.0.2']);

    // Exactly the API's and the proxies' listeners; two sockets per open connection (the client's
    // and the upstream's), nothing else.
    const ports = proxies.map((p) => p.port);
    const listening = () => tcpSocketsOf(pid).filter((s) => s.state === 'LISTEN').map((s) => s.localPort).sort((a, b) => a - b);
    expect(listening()).to.deep.equal([apiPort, ...ports].sort((a, b) => a - b));
    const established = () => tcpSocketsOf(pid).filter((s) => s.state !== 'LISTEN');
    await eventually(() => established().length === 2 * open.length, () => `two sockets per open connection (${JSON.stringify(established())})`);
    expect(established().filter((s) => s.remotePort === echoPort)).to.have.length(open.length);

    // The open connections still work (on the servers the storm left draining), then end cleanly.
    for (const c of open) c.socket.write('after;');
    await until(() => open.every((c) => c.got.text() === `${c.sent}after;`), 'a round trip on every open connection after the storm');
    for (const c of open) c.socket.end();
    await until(() => open.every((c) => c.got.ended()), 'every open connection ended');

    // A checksummed echo through each proxy, at its address now.
    for (const [i, { host, port }] of proxies.entries()) {
      await checksummedEcho(host, port, randomBytes(1024 * 1024, 60 + i));
    }

    // Every connection closed: nothing left but the listeners.
    await eventually(() => established().length === 0, () => `no socket behind (${JSON.stringify(established())})`);
    expect(listening()).to.deep.equal([apiPort, ...ports].sort((a, b) => a - b));
  });
});
