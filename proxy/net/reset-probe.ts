import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';

/**
 * Tells a reset from a FIN on a TCP socket that has just reported end-of-stream ('end').
 *
 * Why this is needed: libuv (src/unix/stream.c, uv__stream_io) reports EOF without a final read()
 * when epoll says POLLHUP and the last read() was short ("Short-circuit iff POLLHUP is set ...").
 * Linux raises POLLHUP when both directions are shut down, which a received RST does
 * (tcp_reset -> tcp_done: sk_shutdown = SHUTDOWN_MASK). So when the peer resets while there is
 * still unread data in our receive queue (we were paused, or just behind), Node reads the
 * queued data, then sees 'end', and the ECONNRESET the kernel holds in sk->sk_err is never
 * collected. A genuine FIN never causes this short-circuit by itself (FIN only sets
 * RCV_SHUTDOWN: POLLIN|POLLRDHUP, no POLLHUP), so EOF comes from read() == 0.
 *
 * The probe: write(fd, NULL, 0) on the socket's own descriptor.
 *   - peer reset (TCP_CLOSE, sk_err = ECONNRESET): tcp_sendmsg_locked -> sk_stream_wait_connect
 *     -> sock_error() returns -ECONNRESET (and clears it).
 *   - genuine half-close (CLOSE_WAIT, we have not sent FIN): no data to copy, returns 0 and sends
 *     nothing; the peer still gets our reply.
 *   - we had already sent FIN and the peer FINs (TIME_WAIT, sk_err = 0): -EPIPE, not a reset.
 * It goes straight to the kernel (fs's binding, or fs.writeSync), not through the handle: after our own
 * shutdown() libuv clears UV_HANDLE_WRITABLE and answers every handle write with EPIPE
 * without a syscall, which would hide a reset on a socket we have already ended.
 *
 * Side effect: a pending error is consumed (sock_error clears sk_err), so call this once per
 * 'end' and act on the answer. Linux only; anything that is not a TCP handle (TLS sockets,
 * unix sockets, in-memory duplexes, yamux streams, destroyed sockets) answers null.
 */

const EMPTY = Buffer.alloc(0);

const EPIPE_ERRNO = -(osConstants.errno.EPIPE ?? 32);

/** Answers that mean "no error was pending": EPIPE = our side was already shut / closed cleanly. */
const NOT_A_PEER_ERROR = new Set(['EPIPE', 'EBADF', 'ENOTSOCK', 'EINVAL', 'EAGAIN', 'EWOULDBLOCK', 'ENOTCONN']);

interface MaybeTcpHandle {
  fd?: unknown;
  constructor?: { name?: string };
}

function tcpFd(stream: unknown): number {
  if (process.platform !== 'linux' || stream === null || typeof stream !== 'object') return -1;
  if ((stream as { destroyed?: boolean }).destroyed || (stream as { connecting?: boolean }).connecting) return -1;
  // TLSSocket: its _handle is a TLSWrap (constructor name 'TLSWrap'); unix sockets: 'Pipe'.
  if ((stream as { encrypted?: boolean }).encrypted) return -1;
  const handle = (stream as { _handle?: MaybeTcpHandle | null })._handle;
  if (handle === null || handle === undefined || typeof handle !== 'object') return -1;
  if (handle.constructor?.name !== 'TCP') return -1;
  const fd = handle.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

/** Node's fs binding: its writeBuffer reports a failure in `ctx` instead of throwing. */
interface FsBinding {
  writeBuffer(fd: number, buffer: Buffer, offset: number, length: number, position: null, req: undefined, ctx: { errno?: number; code?: string }): number;
}

function loadFsBinding(): FsBinding | null {
  try {
    const fs = (process as unknown as { binding(name: string): { writeBuffer?: unknown } }).binding('fs');
    return typeof fs?.writeBuffer === 'function' ? (fs as FsBinding) : null;
  } catch {
    return null;
  }
}

const fsBinding = process.platform === 'linux' ? loadFsBinding() : null;

/** How the probe writes: without an exception through the binding where it can (see probeWrite). */
export const probeWay: { binding: boolean } = { binding: fsBinding !== null };

/**
 * write(fd, "", 0): null when it succeeded, else the error's code. The common answer under
 * connection churn is EPIPE (the peer's FIN after our own), and fs.writeSync throws it: an error
 * object with a stack, thrown and caught, costs more than the system call (measured: about 4% of
 * a relay's CPU under churn). The binding beneath it reports the error in a context object.
 */
function probeWrite(fd: number): string | null {
  if (fsBinding && probeWay.binding) {
    // Already of the shape the binding fills in on a failure (errno, code, syscall): half the probes
    // under churn fail (EPIPE), and setting existing properties costs less than adding them.
    const ctx: { errno?: number; code?: string; syscall?: string } = { errno: undefined, code: undefined, syscall: undefined };
    try {
      const result = fsBinding.writeBuffer(fd, EMPTY, 0, 0, null, undefined, ctx);
      const errno = ctx.errno ?? (result < 0 ? result : undefined);
      if (errno === undefined) return null;
      if (errno === EPIPE_ERRNO) return 'EPIPE'; // the common answer: no name lookup
      return ctx.code ?? codeOf(errno);
    } catch (err) {
      return (err as NodeJS.ErrnoException)?.code ?? null;
    }
  }
  // Nobody reads the stack of the error writeSync throws: none is captured.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    writeSync(fd, EMPTY);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException)?.code ?? null;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function codeOf(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `E${-errno}`;
  }
}

/**
 * The error the peer left pending when `stream` reported 'end' (ECONNRESET for a reset; ETIMEDOUT
 * or an ICMP error for a connection that died), or null for a genuine FIN and for anything that
 * cannot be probed. Consumes the pending error: call once, from the 'end' handler, before
 * passing the FIN on. Never throws.
 */
export function endError(stream: unknown): NodeJS.ErrnoException | null {
  const fd = tcpFd(stream);
  if (fd < 0) return null;
  const code = probeWrite(fd);
  if (typeof code !== 'string' || NOT_A_PEER_ERROR.has(code)) return null;
  // Make it look like the error the read would have returned.
  const out = new Error(`read ${code}`) as NodeJS.ErrnoException;
  out.code = code;
  const errno = (osConstants.errno as Record<string, number | undefined>)[code];
  if (errno !== undefined) out.errno = -errno;
  out.syscall = 'read';
  return out;
}
