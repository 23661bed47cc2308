import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { encodeProxyV1, encodeProxyV2, ProxyHeaderDecoder, uniqueIdTlv, type ProxyHeader } from '../../../windowing/index.js';
import { ConnectionIds, MetricsRegistry, RelayServer, type AccessLogEntry, type RelayServerOptions } from '../../../proxy/index.js';
import { expectUsageError } from '../../helpers/cli.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, readAll, Resources, until } from '../../helpers/sockets.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';

const V1 = encodeProxyV1({ kind: 'tcp4', source: { address: '203.0.113.7', port: 51000 }, destination: { address: '192.0.2.1', port: 443 } });
const AUTHORITY = { type: 0x02, value: Buffer.from('db.example') };
const V2 = encodeProxyV2({ kind: 'tcp6', source: { address: '2001:db8::7', port: 51001 }, destination: { address: '2001:db8::1', port: 443 } }, [AUTHORITY, uniqueIdTlv('upstream-id')]);

/** A target that keeps what each connection sent, and counts the connections it got. */
function recordingTarget(res: Resources) {
  const got: Promise<Buffer>[] = [];
  let accepted = 0;
  const server = res.server(
    createServer({ allowHalfOpen: true }, (s) => {
      accepted++;
      got.push(
        new Promise((resolve) => {
          const chunks: Buffer[] = [];
          s.on('data', (d: Buffer) => chunks.push(d));
          s.on('end', () => {
            resolve(Buffer.concat(chunks));
            s.end();
          });
          s.on('error', () => resolve(Buffer.concat(chunks)));
        }),
      );
    }),
  );
  return { server, got, accepted: () => accepted };
}

/** Splits what a target got into the PROXY header at its start and the rest. */
function splitHeader(bytes: Buffer): { header: ProxyHeader; rest: Buffer } {
  const result = new ProxyHeaderDecoder().push(bytes);
  if (result.kind !== 'header') throw new Error(`no header at the start: ${result.kind}`);
  return { header: result.header, rest: Buffer.from(result.rest) };
}

describe('PROXY protocol (--accept-proxy, --accept-proxy-from, --send-proxy)', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  const tunnels: Tunnel[] = [];
  let clock: sinon.SinonFakeTimers | null = null;
  afterEach(async () => {
    clock?.restore();
    clock = null;
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await Promise.all(tunnels.splice(0).map((t) => t.close()));
    await res.closeAll();
  });

  async function start(targetPort: number, options: Partial<RelayServerOptions>): Promise<{ server: RelayServer; port: number; logs: AccessLogEntry[] }> {
    const logs: AccessLogEntry[] = [];
    const server = new RelayServer({ listen: tcp(0), target: tcp(targetPort), onAccessLog: (e) => logs.push(e), ...options });
    servers.push(server);
    const a = await server.listen();
    return { server, port: a.kind === 'tcp' ? a.port : 0, logs };
  }

  async function metric(server: RelayServer, result: string): Promise<number> {
    const registry = new MetricsRegistry();
    server.registerMetrics(registry);
    const m = new RegExp(`^sluice_proxy_headers_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(registry.render());
    return m ? Number(m[1]) : 0;
  }

  for (const [name, header, client] of [['v1', V1, '203.0.113.7:51000'], ['v2', V2, '[2001:db8::7]:51001']] as const) {
    it(`accepts a ${name} header split at every byte offset across reads; the target gets the data only, the log names the header's client`, async () => {
      const target = recordingTarget(res);
      const { server, port, logs } = await start(await listen(target.server), { acceptProxy: true });
      const data = randomBytes(3000, 5);
      for (let cut = 1; cut < header.length; cut++) {
        const socket = res.socket(await connectTo(port));
        socket.setNoDelay(true);
        socket.write(header.subarray(0, cut));
        await new Promise((r) => setTimeout(r, 2)); // a read of its own for each piece
        socket.end(Buffer.concat([header.subarray(cut), data]));
        socket.resume();
      }
      await until(() => logs.length === header.length - 1, 'every connection logged');
      for (const got of await Promise.all(target.got)) expect(sha256(got)).to.equal(sha256(data));
      expect(new Set(logs.map((l) => `${l.end} ${l.client}`))).to.deep.equal(new Set([`closed ${client}`]));
      expect(await metric(server, name)).to.equal(header.length - 1);
    });
  }

  for (const [what, bytes, end] of [
    ['no header at all (an HTTP request)', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'proxy-header-invalid'],
    ['a v1 line over 107 bytes', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}\r\n`), 'proxy-header-invalid'],
    ['a v2 header with a bad version', Buffer.concat([V2.subarray(0, 12), Buffer.from([0x31]), V2.subarray(13)]), 'proxy-header-invalid'],
    ['half a header, then the end', V2.subarray(0, 20), 'proxy-header-invalid'],
  ] as const) {
    it(`closes the connection on ${what}: nothing forwarded, the target never dialled, end=${end}`, async () => {
      const target = recordingTarget(res);
      const { server, port, logs } = await start(await listen(target.server), { acceptProxy: true });
      const socket = res.socket(await connectTo(port));
      const closed = readAll(socket);
      socket.end(bytes);
      expect((await closed).bytes).to.equal(0);
      await until(() => logs.length === 1, 'the log line');
      expect(logs[0]).to.include({ end, bytesUp: 0 });
      expect(target.accepted()).to.equal(0);
      expect(await metric(server, 'invalid')).to.equal(1);
    });
  }

  it('closes a connection whose header does not arrive within --proxy-header-timeout', async () => {
    const target = recordingTarget(res);
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { server, port, logs } = await start(await listen(target.server), { acceptProxy: true, proxyHeaderTimeoutMs: 3000 });
    const socket = res.socket(await connectTo(port));
    socket.write(V1.subarray(0, 10));
    socket.resume();
    await until(() => server.activeConnections === 0 && logs.length === 0, 'waiting for the header');
    await clock.tickAsync(2999);
    expect(logs).to.have.length(0);
    await clock.tickAsync(1);
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]).to.include({ end: 'proxy-header-timeout', error: 'ERR_PROXY_HEADER_INCOMPLETE' });
    expect([target.accepted(), await metric(server, 'timeout')]).to.deep.equal([0, 1]);
  });

  it('closes a connection from outside --accept-proxy-from before reading anything; a trusted one is served', async () => {
    const target = recordingTarget(res);
    const targetPort = await listen(target.server);
    const untrusted = await start(targetPort, { acceptProxyFrom: '10.0.0.0/8' });
    const socket = res.socket(await connectTo(untrusted.port));
    const closed = readAll(socket);
    socket.write(V1);
    await closed;
    await until(() => untrusted.logs.length === 1, 'the log line');
    expect(untrusted.logs[0]!.end).to.equal('proxy-header-untrusted');
    expect([target.accepted(), await metric(untrusted.server, 'untrusted')]).to.deep.equal([0, 1]);

    const trusted = await start(targetPort, { acceptProxyFrom: '127.0.0.0/8,::1' });
    const ok = res.socket(await connectTo(trusted.port));
    ok.end(Buffer.concat([V1, Buffer.from('hi')]));
    ok.resume();
    expect((await (await until(() => target.got.length === 1, 'the target'), target.got[0]!)).toString()).to.equal('hi');
  });

  it('a LOCAL header (a health check) keeps the socket\'s own addresses', async () => {
    const target = recordingTarget(res);
    const { server, port, logs } = await start(await listen(target.server), { acceptProxy: true });
    const socket = res.socket(await connectTo(port));
    const own = socket.localPort;
    socket.end(Buffer.concat([encodeProxyV2({ kind: 'local' }), Buffer.from('ping')]));
    socket.resume();
    await until(() => logs.length === 1, 'the log line');
    expect(logs[0]!.client).to.equal(`127.0.0.1:${own}`);
    expect(await metric(server, 'local')).to.equal(1);
  });

  it('--send-proxy v1 writes the client socket\'s addresses before any byte of the client\'s', async () => {
    const target = recordingTarget(res);
    const { port } = await start(await listen(target.server), { sendProxy: 'v1' });
    const socket = res.socket(await connectTo(port));
    const own = socket.localPort;
    socket.end('payload');
    socket.resume();
    await until(() => target.got.length === 1, 'the target');
    const { header, rest } = splitHeader(await target.got[0]!);
    expect(header).to.deep.include({ version: 1, kind: 'tcp4', source: { address: '127.0.0.1', port: own }, destination: { address: '127.0.0.1', port } });
    expect(rest.toString()).to.equal('payload');
  });

  it('--accept-proxy with --send-proxy v2 passes the accepted header on: its addresses and TLVs (UNIQUE_ID kept)', async () => {
    const target = recordingTarget(res);
    const { port } = await start(await listen(target.server), { acceptProxy: true, sendProxy: 'v2' });
    const socket = res.socket(await connectTo(port));
    socket.end(Buffer.concat([V2, Buffer.from('payload')]));
    socket.resume();
    await until(() => target.got.length === 1, 'the target');
    const { header, rest } = splitHeader(await target.got[0]!);
    expect(header).to.deep.include({ version: 2, kind: 'tcp6', source: { address: '2001:db8::7', port: 51001 } });
    expect(header.authority).to.equal('db.example');
    expect(header.uniqueId?.toString()).to.equal('upstream-id');
    expect(rest.toString()).to.equal('payload');
  });

  it('through the tunnel: tunnel-client --send-proxy v2 per stream, tunnel-server --accept-proxy --send-proxy v1 to the target', async () => {
    const target = recordingTarget(res);
    const tunnel = await startTunnel(tcp(await listen(target.server)), { acceptProxy: true, sendProxy: 'v1' }, { sendProxy: 'v2' });
    tunnels.push(tunnel);
    const ownPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const socket: Socket = res.socket(await connectTo(tunnel.port));
      ownPorts.push(socket.localPort!);
      socket.end(`stream ${i}`);
      socket.resume();
    }
    await until(() => target.got.length === 3, 'three streams at the target');
    const seen = await Promise.all(target.got.map(async (g) => splitHeader(await g)));
    const ports = seen.map((s) => (s.header.kind === 'tcp4' ? s.header.source.port : -1)).sort();
    expect(ports).to.deep.equal([...ownPorts].sort());
    expect(seen.map((s) => s.rest.toString()).sort()).to.deep.equal(['stream 0', 'stream 1', 'stream 2']);
    await until(() => tunnel.serverLogs.length === 3, 'the server log');
    expect(tunnel.serverLogs.map((l) => l.client).sort()).to.deep.equal(ownPorts.map((p) => `127.0.0.1:${p}`).sort());
  });

  it('a connection closed before its first byte (a monitor\'s TCP check) ends closed and counts as empty, not as a broken header; one reset while awaited counts as aborted', async () => {
    const target = recordingTarget(res);
    const { server, port, logs } = await start(await listen(target.server), { acceptProxy: true });
    const probe = res.socket(await connectTo(port));
    const closed = readAll(probe);
    probe.end();
    await closed;
    await until(() => logs.length === 1, 'the probe\'s log line');
    expect(logs[0]).to.include({ end: 'closed', bytesUp: 0, bytesDown: 0 });
    const dropped = res.socket(await connectTo(port));
    dropped.write(V2.subarray(0, 20));
    await until(() => server.connectionViews(10).total === 1, 'the second client waiting for its header');
    dropped.resetAndDestroy();
    await until(() => logs.length === 2, 'the reset client\'s log line');
    expect(logs[1]).to.include({ end: 'client-reset' });
    expect([await metric(server, 'empty'), await metric(server, 'aborted'), await metric(server, 'invalid'), target.accepted()]).to.deep.equal([1, 1, 0, 0]);
  });

  it('a connection still waiting for its header when the server shuts down, or reset by the API, counts as aborted: one count per connection asked for a header', async () => {
    const target = recordingTarget(res);
    const { server, port, logs } = await start(await listen(target.server), { acceptProxy: true });
    const deleted = res.socket(await connectTo(port));
    await until(() => server.connectionViews(10).total === 1, 'the first client waiting for its header');
    const deletedClosed = readAll(deleted).catch(() => undefined);
    expect(server.resetConnection(server.connectionViews(10).connections[0]!.id)).to.equal(true);
    await deletedClosed;
    const silent = res.socket(await connectTo(port));
    const silentClosed = readAll(silent).catch(() => undefined);
    await until(() => server.connectionViews(10).total === 1, 'the second client waiting for its header');
    await server.shutdown(0);
    await silentClosed;
    expect(logs.map((l) => l.end)).to.deep.equal(['shutdown', 'shutdown']);
    expect([await metric(server, 'aborted'), await metric(server, 'timeout'), target.accepted()]).to.deep.equal([2, 0, 0]);
  });

  it('--send-proxy for a client on a unix socket: v2 sends LOCAL (as HAProxy does: it refuses PROXY with UNSPEC), v1 UNKNOWN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pp-'));
    try {
      for (const version of ['v2', 'v1'] as const) {
        const target = recordingTarget(res);
        const path = join(dir, `${version}.sock`);
        const server = new RelayServer({ listen: { kind: 'unix', path }, target: tcp(await listen(target.server)), sendProxy: version });
        servers.push(server);
        await server.listen();
        const socket = res.socket(await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path, () => resolve(s)).once('error', reject);
        }));
        socket.end('payload');
        socket.resume();
        await until(() => target.got.length === 1, 'the target');
        const { header, rest } = splitHeader(await target.got[0]!);
        expect(header.kind, version).to.equal(version === 'v2' ? 'local' : 'unknown');
        expect(rest.toString()).to.equal('payload');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('UNIQUE_ID is sluice-<instance>-<connection id>: servers sharing one id sequence (serve\'s proxies, reloads) never repeat one; another sequence has another instance', async () => {
    const target = recordingTarget(res);
    const targetPort = await listen(target.server);
    const shared = new ConnectionIds();
    const ports = [
      (await start(targetPort, { sendProxy: 'v2', connectionIds: shared })).port,
      (await start(targetPort, { sendProxy: 'v2', connectionIds: shared })).port,
      (await start(targetPort, { sendProxy: 'v2' })).port,
    ];
    for (const port of ports) {
      const socket = res.socket(await connectTo(port));
      socket.end('x');
      socket.resume();
      await until(() => target.got.length === ports.indexOf(port) + 1, 'the target');
    }
    const ids = await Promise.all(target.got.map(async (g) => splitHeader(await g).header.uniqueId?.toString() ?? ''));
    const parsed = ids.map((id) => /^sluice-([0-9a-f]{16})-(\d+)$/.exec(id));
    expect(parsed.every((m) => m !== null), ids.join(' ')).to.equal(true);
    expect(parsed.map((m) => m![2])).to.deep.equal(['1', '2', '1']);
    expect(parsed[0]![1]).to.equal(parsed[1]![1]);
    expect(parsed[2]![1]).to.not.equal(parsed[0]![1]);
  });

  it('--send-proxy v2 adds no UNIQUE_ID where it would take an accepted header past the 4 KiB the next sluice accepts', async () => {
    const target = recordingTarget(res);
    const { port } = await start(await listen(target.server), { acceptProxy: true, sendProxy: 'v2' });
    const tcp4 = { kind: 'tcp4', source: { address: '203.0.113.7', port: 1 }, destination: { address: '192.0.2.1', port: 2 } } as const;
    // 16 fixed + 12 addresses + 3 + 4065 = 4096: exactly the limit, with nothing to spare.
    const full = encodeProxyV2(tcp4, [{ type: 0xe0, value: Buffer.alloc(4065, 7) }]);
    expect(full.length).to.equal(4096);
    const socket = res.socket(await connectTo(port));
    socket.end(Buffer.concat([full, Buffer.from('payload')]));
    socket.resume();
    await until(() => target.got.length === 1, 'the target');
    const got = await target.got[0]!;
    const { header, rest } = splitHeader(got);
    expect([header.byteLength, header.uniqueId, rest.toString()]).to.deep.equal([4096, undefined, 'payload']);
  });

  it('the flags: a bad --accept-proxy-from exits 2 naming the flag', async () => {
    await expectUsageError(['relay', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--accept-proxy-from', '10.0.0.0/40'], /--accept-proxy-from: "10\.0\.0\.0\/40"/);
    await expectUsageError(['tunnel-client', '--listen', '127.0.0.1:0', '--server', '127.0.0.1:1', '--send-proxy', 'v3'], /--send-proxy: expected one of v1\|v2/);
  });
});
