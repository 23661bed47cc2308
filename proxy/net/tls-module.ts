import { createRequire } from 'node:module';

// node:tls (and node:crypto beneath it) costs an idle process about 1.5 MB, and only a tunnel with
// --tls-* uses it: it is loaded when the first TLS listener or link is made, synchronously (a
// built-in through require), so the constructors that make them stay synchronous.
const require = createRequire(import.meta.url);

/** node:tls, loaded on the first call. */
export function tlsModule(): typeof import('node:tls') {
  return require('node:tls') as typeof import('node:tls');
}
