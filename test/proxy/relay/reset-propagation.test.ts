import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RelayServer, type AccessLogEntry } from '../../../proxy/index.js';
import { until } from '../../helpers/sockets.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';

/**
 * A reset must reach the other side as a reset, whatever was still unread when it came (issue 19,
 * fault 1). Node peers cannot tell a reset from an end on their own sockets; Python's can, so the
 * peers here are Python processes (test/helpers/reset-peer.py): a sender that writes until sluice
 * holds it back and then resets (SO_LINGER 0), or ends cleanly; a reader that reads at a set rate
 * and reports whether it saw an end of stream or ECONNRESET.
 */
const PEER = fileURLToPath(new URL('../../../../test/helpers/reset-peer.py', import.meta.url));
const havePython = spawnSync('python3', ['-c', 'import socket'], { stdio: 'ignore' }).status === 0;

interface PeerResult {
  role: string;
  bytes?: number;
  sent?: number;
  end?: string;
  intact?: boolean;
  replyEnd?: string;
  reply?: number;
}

/** Starts a peer; resolves its first JSON line (a server's port) and its last (what it saw). */
function peer(args: string[]): { child: ChildProcess; first: Promise<Record<string, number>>; result: Promise<PeerResult> } {
  const child = spawn('python3', [PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: unknown[] = [];
  let gotFirst!: (v: Record<string, number>) => void;
  const first = new Promise<Record<string, number>>((r) => (gotFirst = r));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(JSON.parse(l));
    if (lines.length === 1) gotFirst(lines[0] as Record<string, number>);
  });
  const result = new Promise<PeerResult>((resolve) => child.once('close', () => resolve(lines[lines.length - 1] as PeerResult)));
  return { child, first, result };
}

const MiB = 1024 * 1024;

describe('a reset is passed on as a reset, however much was still unread (Python peers)', function () {
  this.timeout(60_000);
  const servers: RelayServer[] = [];
  const tunnels: Tunnel[] = [];
  const children: ChildProcess[] = [];

  before(function () {
    if (!havePython) {
      console.log('[reset] skipping: python3 is not installed');
      this.skip();
    }
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await Promise.all(tunnels.splice(0).map((t) => t.close()));
  });

  /** A relay (or a tunnel) between a Python client and a Python target; resolves both peers' results and the access log. */
  async function run(opts: {
    via: 'onread' | 'stream' | 'tunnel';
    /** Who resets (or ends): the client, sending up, or the target, sending down. */
    sender: 'client' | 'target';
    end: 'rst' | 'fin';
    /** The reader's rate in bytes/s; 0 = as fast as it can (sluice never holds the sender back). */
    rate: number;
    windowBytes: number;
  }): Promise<{ sender: PeerResult; reader: PeerResult; logs: AccessLogEntry[] }> {
    const bytes = 3 * MiB;
    const senderArgs = ['sender', '--bytes', String(bytes), '--end', opts.end, '--stall-ms', '150'];
    const readerArgs = ['reader', '--bytes', String(bytes), '--rate', String(opts.rate), '--reply', opts.end === 'fin' ? '65536' : '0'];
    const target = peer(['server', ...(opts.sender === 'target' ? senderArgs : readerArgs)]);
    children.push(target.child);
    const targetPort = (await target.first).port!;
    const logs: AccessLogEntry[] = [];
    let port: number;
    if (opts.via === 'tunnel') {
      const tunnel = await startTunnel(tcp(targetPort), { onAccessLog: (e) => logs.push(e) });
      tunnels.push(tunnel);
      port = tunnel.port;
    } else {
      const server = new RelayServer({ listen: tcp(0), target: tcp(targetPort), readPath: opts.via, windowBytes: opts.windowBytes, onAccessLog: (e) => logs.push(e) });
      servers.push(server);
      const a = await server.listen();
      port = a.kind === 'tcp' ? a.port : 0;
    }
    const client = peer(['client', ...(opts.sender === 'client' ? senderArgs : readerArgs).slice(0, 1), `127.0.0.1:${port}`, ...(opts.sender === 'client' ? senderArgs : readerArgs).slice(1)]);
    children.push(client.child);
    const [c, t] = await Promise.all([client.result, target.result]);
    await until(() => logs.length === 1, 'the access log line');
    return opts.sender === 'client' ? { sender: c, reader: t, logs } : { sender: t, reader: c, logs };
  }

  const cases: { via: 'onread' | 'stream' | 'tunnel'; sender: 'client' | 'target'; rate: number; windowBytes: number }[] = [];
  for (const sender of ['client', 'target'] as const) {
    // Held back at two window sizes, and not held back at all; the stream path once each way.
    cases.push({ via: 'onread', sender, rate: 8 * MiB, windowBytes: 16 * 1024 }, { via: 'onread', sender, rate: 8 * MiB, windowBytes: 256 * 1024 }, { via: 'onread', sender, rate: 0, windowBytes: 256 * 1024 });
    cases.push({ via: 'stream', sender, rate: 8 * MiB, windowBytes: 64 * 1024 });
  }
  for (const sender of ['client', 'target'] as const) cases.push({ via: 'tunnel', sender, rate: 8 * MiB, windowBytes: 256 * 1024 });

  for (const c of cases) {
    const held = c.rate > 0 ? `the reader at ${c.rate / MiB} MiB/s holding the ${c.sender} back` : 'a fast reader';
    it(`${c.via}: the ${c.sender} resets with ${held} (window ${c.windowBytes / 1024} KiB): the reader sees ECONNRESET, end=${c.sender}-reset`, async () => {
      const { reader, logs } = await run({ ...c, end: 'rst' });
      expect(reader.end, JSON.stringify(reader)).to.equal('ConnectionResetError');
      expect(reader.intact, 'what arrived before the reset is intact').to.equal(true);
      if (c.via !== 'tunnel') expect(logs[0]!.end).to.equal(`${c.sender}-reset`);
    });
  }

  for (const via of ['onread', 'stream', 'tunnel'] as const) {
    for (const sender of ['client', 'target'] as const) {
      it(`${via}: the ${sender} ends cleanly while held back: the reader sees every byte and an end, the sender its reply, end=closed`, async () => {
        const { sender: s, reader, logs } = await run({ via, sender, end: 'fin', rate: 8 * MiB, windowBytes: 256 * 1024 });
        expect([reader.end, reader.bytes, reader.intact], JSON.stringify(reader)).to.deep.equal(['eof', 3 * MiB, true]);
        expect([s.replyEnd, s.reply]).to.deep.equal(['eof', 65536]);
        if (via !== 'tunnel') expect(logs[0]!.end).to.equal('closed');
      });
    }
  }
});
