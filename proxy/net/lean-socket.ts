import { EventEmitter } from 'node:events';
import { isIP, type Server, type Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { OnreadOption } from './connect.js';

/**
 * A TCP connection on libuv's own handle, without net.Socket's stream machinery: for the relay's
 * plain TCP sides, where a connection's life (accept, connect, a request each way, FIN, close)
 * costs more in net.Socket's Readable/Writable states, nextTicks and events than in the kernel.
 * Measured under connection churn (redis-benchmark -k 0): a relay on these handles spends about
 * half the CPU per connection of the same relay on net.Sockets (bench/README.md, churn-50).
 *
 * It offers the part of net.Socket's interface the relay uses (no more), with the same meaning, so the
 * pipeline, the connection table, the reset probe and the descriptor reserve take it as a Socket:
 * reads go only to an `onread` hook (into buffers the reader chooses), writes with a high-water
 * mark, 'drain', cork/uncork (one writev), end() as shutdown() after pending writes with
 * 'finish', half-open always (as the relay sets), 'end' on FIN, close once both ways are done,
 * destroy(err) with 'error' then 'close', resetAndDestroy(), peer and local addresses.
 * Not offered: 'data' events, encodings, timeouts, TLS (those sides stay net.Sockets).
 *
 * The handles come from `process.binding('tcp_wrap')`, the one internal Node still hands out
 * (documentation-deprecated, DEP0111); where it is missing or not as expected, `leanTcp` is null
 * and sluice uses net.Socket everywhere, as before.
 */

/** The libuv TCP handle as Node's binding exposes it (only what is used here). */
interface TcpHandle {
  readonly fd: number;
  owner?: LeanSocket;
  onread: (this: TcpHandle, arrayBuffer: ArrayBuffer | undefined) => Buffer | undefined;
  onconnection?: (this: TcpHandle, status: number, client?: TcpHandle) => void;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Buffer): void;
  writeBuffer(req: WriteReq, data: Buffer): number;
  writev(req: WriteReq, chunks: Buffer[], allBuffers: true): number;
  shutdown(req: ShutdownReq): number;
  close(callback: () => void): void;
  reset(callback: () => void): number;
  connect(req: ConnectReq, host: string, port: number): number;
  connect6(req: ConnectReq, host: string, port: number): number;
  getpeername(out: SocketName): number;
  getsockname(out: SocketName): number;
  setNoDelay(enable: boolean): number;
}

interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  socket: LeanSocket;
  callbacks: WriteCallback[] | WriteCallback | null;
  chunks: Buffer | Buffer[] | null;
}

interface ShutdownReq {
  handle: TcpHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
  socket: LeanSocket;
}

interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number) => void;
  address: string;
  port: number;
  socket: LeanSocket;
}

interface TcpBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number; SERVER: number };
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

type WriteCallback = (err?: Error | null) => void;

const UV_EOF = -4095;
const UV_ENOTCONN = -(osConstants.errno.ENOTCONN ?? 107);

function loadBindings(): { tcp: TcpBinding; stream: StreamBinding } | null {
  if (process.platform !== 'linux' || process.env.SLUICE_NET_SOCKETS === '1') return null;
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    const tcp = binding('tcp_wrap') as TcpBinding;
    const stream = binding('stream_wrap') as StreamBinding;
    const ok =
      typeof tcp?.TCP === 'function' &&
      typeof tcp.TCPConnectWrap === 'function' &&
      typeof tcp.constants?.SOCKET === 'number' &&
      typeof stream?.WriteWrap === 'function' &&
      typeof stream.ShutdownWrap === 'function' &&
      stream.streamBaseState instanceof Int32Array &&
      typeof stream.kReadBytesOrError === 'number' &&
      typeof stream.kLastWriteWasAsync === 'number' &&
      typeof tcp.TCP.prototype.useUserBuffer === 'function' &&
      typeof tcp.TCP.prototype.reset === 'function';
    return ok ? { tcp, stream } : null;
  } catch {
    return null;
  }
}

const bindings = loadBindings();

function uvError(status: number, syscall: string, detail?: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `Unknown system error ${status}`;
  }
  const err = new Error(`${syscall} ${code}${detail ? ` ${detail}` : ''}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = status;
  err.syscall = syscall;
  return err;
}

/** One end of a connection as getpeername/getsockname tell it. */
type SocketName = { address?: string; family?: string; port?: number };

// Asks the handle (null when it is gone or the call fails: asked again next time). The object is
// filled in already of its shape, properties in the order Node sets them: stores into it cost a
// quarter less than adding three properties.
function lookUpName(handle: TcpHandle | null, call: 'getpeername' | 'getsockname'): SocketName | null {
  const out: SocketName = { address: undefined, family: undefined, port: undefined };
  return handle && handle[call](out) === 0 ? out : null;
}

// One function per event for every socket: the handle names its owner, so no closure per connection.
function onHandleRead(this: TcpHandle): Buffer | undefined {
  return this.owner?.onRead();
}

function onWriteDone(this: WriteReq, status: number): void {
  this.socket.afterWrite(this, status);
}

function onShutdownDone(this: ShutdownReq, status: number): void {
  this.socket.afterShutdown(status);
}

function onConnectDone(this: ConnectReq, status: number): void {
  this.socket.afterConnect(status, this);
}

function runSyncDone(socket: LeanSocket): void {
  socket.runSyncDone();
}

// Node keeps a handle's close callback on the handle object after it closed, and that object
// outlives the close until a collection finds it (V8's scavenges keep such objects of Node's, once
// given properties, for the next full one): a closure here would keep the whole connection's
// objects alive with it. One shared function, and the owner link cut, keep nothing.
function onHandleClosed(this: TcpHandle): void {
  const owner = this.owner;
  this.owner = undefined;
  owner?.emitClose();
}

/** A TCP connection on a raw libuv handle; see the file's comment. */
export class LeanSocket extends EventEmitter {
  /** Node's name for the handle: the reset probe reads its descriptor through it. */
  _handle: TcpHandle | null;
  connecting = false;
  destroyed = false;
  closed = false;
  readableEnded = false;
  writableEnded = false;
  writableFinished = false;
  /** Always half-open: a FIN read is passed on by whoever reads, never answered by us. */
  allowHalfOpen = true;
  readonly writableHighWaterMark: number;
  private pendingBytes = 0;
  private needDrain = false;
  private reading = false;
  private wantReading = false;
  private hook: OnreadOption | null = null;
  private buffer: Buffer | null = null;
  private corked = 0;
  private corkedChunks: Buffer[] = [];
  private corkedCallbacks: WriteCallback[] = [];
  private shutdownSent = false;
  private failure: Error | null = null;
  // Writes that reached the kernel at once: their callbacks (and a 'drain') run together, next tick.
  private syncDone: WriteCallback[] = [];
  private syncDrain = false;
  private syncScheduled = false;
  private peer: SocketName | null = null;
  private local: SocketName | null = null;

  constructor(handle: TcpHandle, writableHighWaterMark = 16 * 1024) {
    super();
    this._handle = handle;
    this.writableHighWaterMark = writableHighWaterMark;
    handle.owner = this;
    handle.onread = onHandleRead;
  }

  /** Reads go to `hook` (Node's `onread` option): into `hook.buffer()`, handed to `hook.callback`. */
  setOnread(hook: OnreadOption): void {
    this.hook = hook;
    this.buffer = hook.buffer();
    this._handle?.useUserBuffer(this.buffer);
  }

  get writableLength(): number {
    return this.pendingBytes;
  }

  get remoteAddress(): string | undefined {
    return this.peerName().address;
  }

  get remotePort(): number | undefined {
    return this.peerName().port;
  }

  get remoteFamily(): string | undefined {
    return this.peerName().family;
  }

  get localAddress(): string | undefined {
    return this.sockName().address;
  }

  get localPort(): number | undefined {
    return this.sockName().port;
  }

  setNoDelay(noDelay = true): this {
    this._handle?.setNoDelay(noDelay);
    return this;
  }

  pause(): this {
    this.wantReading = false;
    if (this.reading && this._handle) {
      this.reading = false;
      this._handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.wantReading = true;
    this.startReading();
    return this;
  }

  write(chunk: Buffer, callback?: WriteCallback): boolean {
    if (this.writableEnded || this.destroyed) {
      const err = Object.assign(new Error(this.destroyed ? 'Cannot call write after a stream was destroyed' : 'write after end'), {
        code: this.destroyed ? 'ERR_STREAM_DESTROYED' : 'ERR_STREAM_WRITE_AFTER_END',
      });
      process.nextTick(() => {
        callback?.(err);
        if (!this.destroyed) this.destroy(err);
      });
      return false;
    }
    this.pendingBytes += chunk.length;
    const ok = this.pendingBytes < this.writableHighWaterMark;
    if (!ok) this.needDrain = true;
    if (this.corked > 0) {
      this.corkedChunks.push(chunk);
      if (callback) this.corkedCallbacks.push(callback);
      return ok;
    }
    this.send(chunk, callback ?? null);
    return ok;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0 || --this.corked > 0) return;
    const chunks = this.corkedChunks;
    const callbacks = this.corkedCallbacks;
    if (chunks.length > 0) {
      this.corkedChunks = [];
      this.corkedCallbacks = [];
      this.send(chunks.length === 1 ? chunks[0]! : chunks, callbacks.length === 1 ? callbacks[0]! : callbacks);
    }
    // An end() made while corked waits for this.
    this.maybeShutdown();
  }

  /** Sends FIN once everything written has reached the kernel. */
  end(): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    this.maybeShutdown();
    return this;
  }

  /** Closes the descriptor; 'error' (with `err`) and then 'close' follow once libuv has closed it. */
  destroy(err?: Error | null): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (err) this.failure = err;
    this.closeHandle(false);
    return this;
  }

  /** Closes with a TCP reset (SO_LINGER 0): the peer gets ECONNRESET, not a FIN. */
  resetAndDestroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.closeHandle(true);
    return this;
  }

  // --- called by the handle's requests (shared functions above) ---

  /** @internal A read completed (bytes, FIN or an error): Node's onStreamRead, for the onread path only. */
  onRead(): Buffer | undefined {
    if (this.destroyed) return undefined;
    const nread = bindings!.stream.streamBaseState[bindings!.stream.kReadBytesOrError]!;
    if (nread > 0) {
      const hook = this.hook;
      const buffer = this.buffer;
      if (!hook || !buffer || hook.callback(nread, buffer) === false) this.pause();
      if (!hook) return undefined;
      const next = hook.buffer();
      if (next === this.buffer) return undefined;
      this.buffer = next;
      return next;
    }
    if (nread === 0) return undefined;
    this.reading = false;
    if (nread !== UV_EOF) {
      this.destroy(uvError(nread, 'read'));
      return undefined;
    }
    this.readableEnded = true;
    this.emit('end');
    if (this.writableFinished) this.destroy();
    return undefined;
  }

  /** @internal */
  afterWrite(req: WriteReq, status: number): void {
    req.chunks = null;
    if (status < 0) {
      const err = uvError(status, 'write');
      this.callBack(req.callbacks, err);
      this.destroy(err);
      return;
    }
    this.pendingBytes -= req.bytes;
    this.callBack(req.callbacks, null);
    if (this.pendingBytes === 0) {
      if (this.needDrain && !this.destroyed) {
        this.needDrain = false;
        this.emit('drain');
      }
      this.maybeShutdown();
    }
  }

  /** @internal */
  afterShutdown(status: number): void {
    if (this.destroyed) return;
    if (status < 0 && status !== UV_ENOTCONN) {
      this.destroy(uvError(status, 'shutdown'));
      return;
    }
    this.finish();
  }

  /** @internal */
  afterConnect(status: number, req: ConnectReq): void {
    if (this.destroyed) return;
    this.connecting = false;
    if (status < 0) {
      this.destroy(uvError(status, 'connect', `${req.address}:${req.port}`));
      return;
    }
    this.startReading();
    this.emit('connect');
    // What was written while connecting goes now (and an end() made meanwhile after it).
    if (this.corked === 0) {
      this.corked = 1;
      this.uncork();
    }
  }

  /** @internal Starts a connect to `host:port` (an IP address); 'connect' or 'error' follow. */
  connectTo(host: string, port: number): void {
    const handle = this._handle!;
    const req = new bindings!.tcp.TCPConnectWrap();
    req.oncomplete = onConnectDone;
    req.address = host;
    req.port = port;
    req.socket = this;
    this.connecting = true;
    const status = isIP(host) === 6 ? handle.connect6(req, host, port) : handle.connect(req, host, port);
    if (status < 0) process.nextTick(() => this.destroy(uvError(status, 'connect', `${host}:${port}`)));
  }

  private startReading(): void {
    const handle = this._handle;
    if (!this.wantReading || this.reading || !handle || this.connecting || this.readableEnded || this.destroyed) return;
    this.reading = true;
    const status = handle.readStart();
    if (status < 0) {
      this.reading = false;
      this.destroy(uvError(status, 'read'));
    }
  }

  private send(data: Buffer | Buffer[], callbacks: WriteCallback[] | WriteCallback | null): void {
    const handle = this._handle;
    if (!handle || this.connecting) {
      // Not connected yet: kept for afterConnect.
      if (Array.isArray(data)) this.corkedChunks.push(...data);
      else this.corkedChunks.push(data);
      if (Array.isArray(callbacks)) this.corkedCallbacks.push(...callbacks);
      else if (callbacks) this.corkedCallbacks.push(callbacks);
      return;
    }
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = bindings!.stream;
    const req = new WriteWrap();
    req.handle = handle;
    req.oncomplete = onWriteDone;
    req.socket = this;
    req.callbacks = callbacks;
    req.async = false;
    let bytes = 0;
    let status: number;
    if (Array.isArray(data)) {
      for (const chunk of data) bytes += chunk.length;
      status = handle.writev(req, data, true);
    } else {
      bytes = data.length;
      status = handle.writeBuffer(req, data);
    }
    req.bytes = bytes;
    if (status !== 0) {
      const err = uvError(status, 'write');
      this.pendingBytes -= bytes;
      this.callBackLater(callbacks, err);
      this.destroy(err);
      return;
    }
    if (streamBaseState[kLastWriteWasAsync]) {
      req.chunks = data; // the kernel has not taken it all: keep the buffers alive until it has
      return;
    }
    this.pendingBytes -= bytes;
    this.callBackLater(callbacks, null);
    if (this.pendingBytes === 0 && this.needDrain) {
      this.needDrain = false;
      this.syncDrain = true;
      this.scheduleSyncDone();
    }
  }

  private maybeShutdown(): void {
    if (!this.writableEnded || this.shutdownSent || this.pendingBytes > 0 || this.corked > 0 || this.connecting || this.destroyed) return;
    const handle = this._handle;
    if (!handle) return;
    this.shutdownSent = true;
    const req = new bindings!.stream.ShutdownWrap();
    req.handle = handle;
    req.oncomplete = onShutdownDone;
    req.socket = this;
    const status = handle.shutdown(req);
    if (status === 1 || status === UV_ENOTCONN) process.nextTick(() => !this.destroyed && this.finish());
    else if (status < 0) process.nextTick(() => this.destroy(uvError(status, 'shutdown')));
  }

  private finish(): void {
    this.writableFinished = true;
    this.emit('finish');
    if (this.readableEnded) this.destroy();
  }

  private callBack(callbacks: WriteCallback[] | WriteCallback | null, err: Error | null): void {
    if (callbacks === null) return;
    if (typeof callbacks === 'function') callbacks(err);
    else for (const cb of callbacks) cb(err);
  }

  private callBackLater(callbacks: WriteCallback[] | WriteCallback | null, err: Error | null): void {
    if (callbacks === null) return;
    if (err) {
      process.nextTick(() => this.callBack(callbacks, err));
      return;
    }
    if (typeof callbacks === 'function') this.syncDone.push(callbacks);
    else this.syncDone.push(...callbacks);
    this.scheduleSyncDone();
  }

  private scheduleSyncDone(): void {
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    process.nextTick(runSyncDone, this);
  }

  /** @internal As net.Socket does: a write's callback never runs inside write(); a 'drain' follows them. */
  runSyncDone(): void {
    this.syncScheduled = false;
    const done = this.syncDone;
    this.syncDone = [];
    for (const cb of done) cb(null);
    if (this.syncDrain) {
      this.syncDrain = false;
      if (!this.destroyed) this.emit('drain');
    }
  }

  private closeHandle(reset: boolean): void {
    const handle = this._handle;
    this.reading = false;
    if (!handle) {
      process.nextTick(() => this.emitClose());
      return;
    }
    if (!reset || handle.reset(onHandleClosed) !== 0) handle.close(onHandleClosed);
    // Callbacks of writes still in flight: they fail (libuv cancels them with ECANCELED on close).
  }

  /** @internal The handle is closed (libuv's close callback), or there was none to close. */
  emitClose(): void {
    this._handle = null;
    this.closed = true;
    this.corkedChunks = [];
    const pendingCallbacks = this.corkedCallbacks;
    this.corkedCallbacks = [];
    const failure = this.failure;
    if (pendingCallbacks.length > 0) {
      const err = failure ?? Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' });
      for (const cb of pendingCallbacks) cb(err);
    }
    if (failure) this.emit('error', failure);
    this.emit('close', failure !== null);
  }

  private peerName(): SocketName {
    return (this.peer ??= lookUpName(this._handle, 'getpeername')) ?? {};
  }

  private sockName(): SocketName {
    return (this.local ??= lookUpName(this._handle, 'getsockname')) ?? {};
  }
}

/** The raw-handle TCP layer, or null where this Node does not offer it (net.Socket is used then). */
export const leanTcp = bindings
  ? {
      /** A socket connecting to `host:port` (an IP address, not a name); 'connect' or 'error' follow. */
      connect(host: string, port: number, writableHighWaterMark?: number): LeanSocket {
        const socket = new LeanSocket(new bindings.tcp.TCP(bindings.tcp.constants.SOCKET), writableHighWaterMark);
        socket.connectTo(host, port);
        return socket;
      },

      /**
       * Takes over the accepts of a listening net.Server: each new connection becomes a LeanSocket
       * (not reading until resumed) handed to `onAccept`, in place of the server's 'connection'
       * event with a net.Socket. A failed accept is the server's 'error' (syscall 'accept'), as
       * before. Returns null (and changes nothing) when the server's handle is not as expected;
       * `release` gives the accepts back to the server (a listener handed to a successor).
       */
      takeAccepts(server: Server, writableHighWaterMark: number, onAccept: (socket: LeanSocket) => void): { release(): void } | null {
        const handle = (server as Server & { _handle?: TcpHandle | null })._handle;
        if (!handle || typeof handle.onconnection !== 'function' || handle.constructor !== bindings.tcp.TCP) return null;
        const original = handle.onconnection;
        handle.onconnection = function (this: TcpHandle, status: number, client?: TcpHandle): void {
          if (status < 0 || !client) {
            server.emit('error', uvError(status, 'accept'));
            return;
          }
          onAccept(new LeanSocket(client, writableHighWaterMark));
        };
        return {
          release() {
            handle.onconnection = original;
          },
        };
      },

      /** True for a LeanSocket. */
      owns(socket: unknown): socket is LeanSocket {
        return socket instanceof LeanSocket;
      },
    }
  : null;

/** A LeanSocket seen through the net.Socket type the relay's code is written against (the subset above). */
export function asSocket(socket: LeanSocket): Socket {
  return socket as unknown as Socket;
}
