/**
 * The floor under connection churn: what a relay in Node costs per connection when it does
 * nothing it could skip. It works on libuv's TCP handles directly (`process.binding('tcp_wrap')`,
 * as sluice's LeanSocket does), without streams, events, promises or timers, and keeps only the
 * bookkeeping any operable proxy needs per connection: a record in a table, the client's address,
 * byte counts, telling a reset from a FIN (the zero-length write sluice's reset probe makes), a
 * batched access-log line to stderr. No flow control, limits, timeouts or metrics: writes are
 * never held back, so it is measured in the churn case only (each connection moves a few bytes).
 *
 * It takes the same --listen/--target flags and prints the same ready line as `sluice relay`.
 * The distance from it to HAProxy is Node's own; the distance from sluice to it is sluice's.
 */
import { writeSync } from 'node:fs';
import { hostPortFlag } from './host-port.js';

interface Handle {
  onread: () => void;
  onconnection: (status: number, client?: Handle) => void;
  bind(host: string, port: number): number;
  listen(backlog: number): number;
  getsockname(out: Name): number;
  getpeername(out: Name): number;
  connect(req: ConnectReq, host: string, port: number): number;
  useUserBuffer(buffer: Buffer): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  shutdown(req: ShutdownReq): number;
  setNoDelay(on: boolean): number;
  close(): void;
}
interface Name {
  address?: string;
  port?: number;
  family?: string;
}
interface ConnectReq {
  oncomplete: (status: number) => void;
  address: string;
  port: number;
}
interface WriteReq {
  handle: Handle;
  oncomplete: () => void;
  async: boolean;
}
interface ShutdownReq {
  handle: Handle;
  oncomplete: () => void;
}

const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
const tcp = binding('tcp_wrap') as { TCP: new (type: number) => Handle; TCPConnectWrap: new () => ConnectReq; constants: { SOCKET: number; SERVER: number } };
const stream = binding('stream_wrap') as { WriteWrap: new () => WriteReq; ShutdownWrap: new () => ShutdownReq; streamBaseState: Int32Array; kReadBytesOrError: number };

const UV_EOF = -4095;
const UV_EPIPE = -32;
const EMPTY = Buffer.alloc(0);

const listen = hostPortFlag('--listen', 'floor-relay');
const target = hostPortFlag('--target', 'floor-relay');
const targetText = `${target.host}:${target.port}`;

interface Connection {
  id: number;
  client: Handle;
  target: Handle;
  clientText: string;
  startedMs: number;
  up: number;
  down: number;
  ended: number;
  end: string;
  done: boolean;
}

const table = new Map<number, Connection>();
let nextId = 1;
let lines: string[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  const text = lines.join('\n') + '\n';
  lines = [];
  writeSync(2, text);
}

function finish(c: Connection): void {
  if (c.done) return;
  c.done = true;
  c.client.close();
  c.target.close();
  table.delete(c.id);
  lines.push(
    `${new Date().toISOString()} conn=${c.id} client=${c.clientText} target=${targetText} up=${c.up} down=${c.down} duration=${Math.round(performance.now() - c.startedMs)}ms end=${c.end}`,
  );
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function noop(): void {}

/** Relays `from` to `to`; `up` counts client-to-target bytes. */
function relay(from: Handle, to: Handle, c: Connection, up: boolean): void {
  const buffer = Buffer.allocUnsafe(16 * 1024);
  from.useUserBuffer(buffer);
  from.onread = () => {
    const n = stream.streamBaseState[stream.kReadBytesOrError]!;
    if (n > 0) {
      if (up) c.up += n;
      else c.down += n;
      const req = new stream.WriteWrap();
      req.handle = to;
      req.oncomplete = noop;
      req.async = false;
      to.writeBuffer(req, Buffer.from(buffer.subarray(0, n)));
      return;
    }
    if (n === 0) return;
    if (n === UV_EOF) {
      // A zero-length write on the side that ended answers a pending reset (see proxy/net/reset-probe.ts).
      // Through the handle, as here, libuv answers EPIPE without a system call once we have sent our
      // own FIN on that side; sluice goes to the kernel then too, so the floor is a little cheaper
      // than a probe that always works.
      const probe = new stream.WriteWrap();
      probe.handle = from;
      probe.oncomplete = noop;
      probe.async = false;
      const status = from.writeBuffer(probe, EMPTY);
      if (status !== 0 && status !== UV_EPIPE) {
        c.end = up ? 'client-reset' : 'target-reset';
        return finish(c);
      }
      from.readStop();
      const req = new stream.ShutdownWrap();
      req.handle = to;
      req.oncomplete = () => {
        if (++c.ended === 2) finish(c);
      };
      to.shutdown(req);
      return;
    }
    c.end = up ? 'client-error' : 'target-error';
    finish(c);
  };
  from.readStart();
}

const server = new tcp.TCP(tcp.constants.SERVER);
if (server.bind(listen.host, listen.port) !== 0 || server.listen(511) !== 0) {
  process.stderr.write(`floor-relay: cannot listen on ${listen.host}:${listen.port}\n`);
  process.exit(1);
}
server.onconnection = (status, client) => {
  if (status < 0 || !client) return;
  const peer: Name = {};
  client.getpeername(peer);
  const c: Connection = {
    id: nextId++,
    client,
    target: new tcp.TCP(tcp.constants.SOCKET),
    clientText: `${peer.address}:${peer.port}`,
    startedMs: performance.now(),
    up: 0,
    down: 0,
    ended: 0,
    end: 'closed',
    done: false,
  };
  table.set(c.id, c);
  const req = new tcp.TCPConnectWrap();
  req.oncomplete = (connected) => {
    if (connected < 0) {
      c.end = 'connect-failed';
      return finish(c);
    }
    client.setNoDelay(true);
    c.target.setNoDelay(true);
    relay(client, c.target, c, true);
    relay(c.target, client, c, false);
  };
  req.address = target.host;
  req.port = target.port;
  if (c.target.connect(req, target.host, target.port) !== 0) {
    c.end = 'connect-failed';
    finish(c);
  }
};
const bound: Name = {};
server.getsockname(bound);
process.stdout.write(`floor relay listening on ${bound.address}:${bound.port}\n`);
