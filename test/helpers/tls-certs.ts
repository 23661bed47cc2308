import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM paths of one party. */
export interface Party {
  cert: string;
  key: string;
}

/** A throwaway PKI: a CA with a server (127.0.0.1, localhost) and a client, plus a rogue CA with its own pair. */
export interface TestPki {
  dir: string;
  ca: string;
  server: Party;
  client: Party;
  rogueCa: string;
  rogueServer: Party;
  rogueClient: Party;
  remove(): void;
}

let reason: string | undefined;
/** Why makePki() returned null, if it did. */
export function pkiUnavailableReason(): string | undefined {
  return reason;
}

/** Generates the PKI with openssl into a temp dir (P-256 keys, one day); null when openssl is missing. */
export function makePki(): TestPki | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    reason = "'openssl' not found on PATH";
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name: string) => {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
      '-days', '1', '-subj', `/CN=sluice test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    return join(dir, `${name}.pem`);
  };
  const party = (name: string, caName: string, usage: 'serverAuth' | 'clientAuth'): Party => {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=sluice test ${name}`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  const pki: TestPki = {
    dir,
    ca: ca('ca'),
    rogueCa: ca('rogue-ca'),
    server: party('server', 'ca', 'serverAuth'),
    client: party('client', 'ca', 'clientAuth'),
    rogueServer: party('rogue-server', 'rogue-ca', 'serverAuth'),
    rogueClient: party('rogue-client', 'rogue-ca', 'clientAuth'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return pki;
}
