import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { tlsModule } from './tls-module.js';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

/**
 * Mutual TLS for tunnel links (node:tls): each side presents a certificate and accepts only a peer
 * whose certificate the configured CA signed. The server requires and verifies client
 * certificates; the client verifies the server's certificate and its name.
 */

/** PEM files of one side: its certificate and key, and the CA that signs its peers. */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
  caPath: string;
}

/** PEM contents read from TlsFiles. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/**
 * Largest PEM file read: a bundle of every public root CA is about 200 KiB; past this the file is
 * not what was meant (a 200 MB one cost 500 MB of memory before OpenSSL refused it).
 */
export const MAX_PEM_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads the three files and checks that OpenSSL takes them (a CA with a certificate in it, a
 * certificate, its own key); throws an Error naming the flag of the first one at fault, in one line.
 */
export function loadTlsFiles(files: TlsFiles): TlsMaterial {
  const material = { cert: readPem(files.certPath, 'tls-cert'), key: readPem(files.keyPath, 'tls-key'), ca: readPem(files.caPath, 'tls-ca') };
  checkTlsMaterial(material, files);
  return material;
}

function readPem(path: string, flag: string): Buffer {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    // Only a regular file has a size to check; a pipe (--tls-key <(...)) is read as it comes.
    if (stat.isFile() && stat.size > MAX_PEM_FILE_BYTES) throw new Error(`--${flag}: ${path} is ${stat.size} bytes, more than a PEM file can be (${MAX_PEM_FILE_BYTES})`);
    return readFileSync(fd);
  } catch (err) {
    if ((err as Error).message.startsWith(`--${flag}:`)) throw err;
    throw new Error(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

// OpenSSL's messages read "<code>:error:<hex>:<library>:<function>:<reason>:<file>:<line>:" over
// two lines; its reason is the part worth a log line.
function opensslReason(err: unknown): string {
  const e = err as Error & { reason?: unknown };
  return typeof e.reason === 'string' && e.reason !== '' ? e.reason : e.message.split('\n')[0]!.trim();
}

/** Throws an Error naming the flag whose file OpenSSL does not take (each is checked alone, then the key with its certificate). */
function checkTlsMaterial(material: TlsMaterial, files: TlsFiles): void {
  const tls = tlsModule();
  const attempt = (flag: string, path: string, options: Parameters<typeof tls.createSecureContext>[0], what: string): void => {
    try {
      tls.createSecureContext(options);
    } catch (err) {
      throw new Error(`--${flag}: ${path} ${what} (${opensslReason(err)})`);
    }
  };
  // OpenSSL skips anything in a CA file that is not a certificate: a CA file without one would
  // start a server that refuses every client, or a client that trusts no server.
  if (!material.ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--tls-ca: ${files.caPath} holds no PEM certificate`);
  attempt('tls-ca', files.caPath, { ca: material.ca }, 'is not a usable PEM CA certificate');
  attempt('tls-cert', files.certPath, { cert: material.cert }, 'is not a usable PEM certificate');
  try {
    tls.createSecureContext({ cert: material.cert, key: material.key });
  } catch (err) {
    const reason = opensslReason(err);
    if (/key values mismatch/.test(reason)) throw new Error(`--tls-key: ${files.keyPath} is not the key of --tls-cert ${files.certPath}`);
    throw new Error(`--tls-key: ${files.keyPath} is not a usable PEM private key (${reason})`);
  }
}

/** Oldest protocol accepted either way. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** Server side: present `cert`, require a client certificate signed by `ca`, refuse anything else. */
export function serverTlsOptions(material: TlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: TLS_MIN_VERSION,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** Client side: present `cert`, accept only a server whose certificate `ca` signed for the name dialled (or `servername`). */
export function clientTlsOptions(material: TlsMaterial, servername?: string): ConnectionOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    rejectUnauthorized: true,
    minVersion: TLS_MIN_VERSION,
    ...(servername !== undefined ? { servername } : {}),
  };
}
