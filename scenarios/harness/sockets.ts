/**
 * Sockets and time for scenarios run on real time: listen, connect, write everything then FIN, wait
 * for a condition, see how a socket ended. Every socket is tracked by a Scope so nothing outlives
 * the scenario.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Scope } from './scope.js';

/** 10^6 bytes: RSS and rates are in MB. */
export const MB = 1e6;
export const MiB = 1024 * 1024;
export const KiB = 1024;

/** performance.now(), the clock every scenario measures with. */
export const now = (): number => performance.now();
/** Resolves after `ms` of real time. */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`'s value, or null if `ms` pass first; the timer is cleared either way. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Listens on HOST:0 (default 127.0.0.1) and resolves with the port. */
export async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

/** Connects to 127.0.0.1:port (tracked by `scope`); rejects on error or after `timeoutMs`. */
export function connect(scope: Scope, port: number, timeoutMs = 5000, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = scope.socket(net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false }));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to 127.0.0.1:${port} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Writes `payload` in `sliceBytes` slices, honouring write() === false, then ends; resolves with
 * the time (performance.now) of 'finish': every byte handed to the kernel.
 */
export function writeAllAndEnd(socket: net.Socket, payload: Buffer, sliceBytes = 64 * KiB): Promise<number> {
  return new Promise((resolve, reject) => {
    let offset = 0;
    const onError = (e: Error): void => reject(e);
    socket.once('error', onError);
    socket.once('close', () => reject(new Error(`socket closed after ${offset} of ${payload.length} bytes were written`)));
    socket.once('finish', () => {
      socket.off('error', onError);
      resolve(now());
    });
    const write = (): void => {
      while (offset < payload.length) {
        const slice = payload.subarray(offset, offset + sliceBytes);
        offset += slice.length;
        if (!socket.write(slice)) return;
      }
      socket.off('drain', write);
      socket.end();
    };
    socket.on('drain', write);
    write();
  });
}

/** Resolves when `ready()` holds, polling every `everyMs`; rejects with `what` after `timeoutMs`. */
export async function until(ready: () => boolean, what: string, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!ready()) {
    if (now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

/** How a socket's life ended, and when (performance.now). */
export interface SocketEnd {
  at: number;
  /** 'end' (FIN received), 'error' (with code) or 'close' (closed without either). */
  how: 'end' | 'error' | 'close';
  code?: string;
}

/** Resolves at the first sign the peer closed: FIN ('end'), an error (e.g. ECONNRESET), or 'close'. */
export function socketEnd(socket: net.Socket): Promise<SocketEnd> {
  return new Promise((resolve) => {
    socket.once('end', () => resolve({ at: now(), how: 'end' }));
    socket.once('error', (e: NodeJS.ErrnoException) => resolve({ at: now(), how: 'error', code: e.code ?? e.message }));
    socket.once('close', () => resolve({ at: now(), how: 'close' }));
  });
}

/** Resolves with what arrived once at least `bytes` bytes did; rejects on end, error or timeout first. */
export function readExactly(socket: net.Socket, bytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => finish(new Error(`got ${got} of ${bytes} bytes within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= bytes) finish(null);
    };
    const onEnd = (): void => finish(new Error(`connection ended after ${got} of ${bytes} bytes`));
    const onError = (e: Error): void => finish(new Error(`connection failed after ${got} of ${bytes} bytes: ${e.message}`));
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}
