import { readFileSync } from 'node:fs';
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

/** Reads the three files; throws an Error naming the flag of the first one that cannot be read. */
export function loadTlsFiles(files: TlsFiles): TlsMaterial {
  const read = (path: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read(files.certPath, 'tls-cert'), key: read(files.keyPath, 'tls-key'), ca: read(files.caPath, 'tls-ca') };
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
