import { expect } from 'chai';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PEM_FILE_BYTES } from '../../../proxy/net/tls-options.js';
import { clientTlsOptions, loadTlsFiles, serverTlsOptions, TunnelServer, type TlsMaterial } from '../../../proxy/index.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { closed, connectTo, echoServer, listen, readAll, Resources, until } from '../../helpers/sockets.js';
import { AcceptErrorCounts } from '../../../proxy/net/accept-guard.js';
import { FdReserve } from '../../../proxy/net/fd-reserve.js';
import { makePki, pkiUnavailableReason, type Party, type TestPki } from '../../helpers/tls-certs.js';
import { startTunnel, tcp, type Tunnel } from '../../helpers/tunnel.js';

describe('tunnel links over mutual TLS (throwaway CA made with openssl)', function () {
  this.timeout(20_000);
  let pki: TestPki;
  const res = new Resources();
  const tunnels: Tunnel[] = [];

  before(function () {
    const made = makePki();
    if (!made) {
      console.log(`      skipped: ${pkiUnavailableReason()}`);
      this.skip();
    }
    pki = made;
  });
  after(() => pki?.remove());
  afterEach(async () => {
    await Promise.all(tunnels.splice(0).map((t) => t.close()));
    await res.closeAll();
  });

  const pem = (path: string): string => (writeFileSync(path, ''), path);
  const material = (party: Party, ca: string): TlsMaterial => loadTlsFiles({ certPath: party.cert, keyPath: party.key, caPath: ca });

  async function tunnelWith(server: TlsMaterial, client: ReturnType<typeof clientTlsOptions>): Promise<Tunnel> {
    const target = echoServer(res);
    const t = await startTunnel(tcp(await listen(target)), { tls: serverTlsOptions(server, 5_000) }, { tls: client, linkWaitMs: 400 });
    tunnels.push(t);
    return t;
  }

  /** Sends through the tunnel; resolves with the echo's byte count (0 when the connection was closed). */
  async function echoThrough(t: Tunnel, data: Buffer): Promise<{ bytes: number; sha256: string }> {
    const client = res.socket(await connectTo(t.port));
    const got = readAll(client).catch(() => ({ bytes: 0, sha256: '' }));
    client.end(data);
    return got;
  }

  it('carries streams when each side presents a certificate the other trusts', async () => {
    const t = await tunnelWith(material(pki.server, pki.ca), clientTlsOptions(material(pki.client, pki.ca)));
    const data = randomBytes(3 * 1024 * 1024, 1);
    expect(await echoThrough(t, data)).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    const link = t.server.liveLinks()[0]!.link as import('node:tls').TLSSocket;
    expect(link.authorized).to.equal(true);
    expect(link.getPeerCertificate().subject.CN).to.equal('sluice test client');
  });

  it('the server refuses a client whose certificate another CA signed', async () => {
    const t = await tunnelWith(material(pki.server, pki.ca), clientTlsOptions(material(pki.rogueClient, pki.ca)));
    expect((await echoThrough(t, Buffer.from('let me in'))).bytes).to.equal(0);
    await until(() => t.linkLines.some((l) => /^server: link from .* refused/.test(l)), 'the refusal to be logged');
    // Node reports this refusal as "socket hang up" from a socket it already destroyed (no address).
    expect(t.linkLines.find((l) => l.includes('refused'))).to.match(
      /^server: link from 127\.0\.0\.1:\d+ refused: client certificate not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/,
    );
    expect(t.server.liveLinks()).to.have.length(0);
    await until(() => t.clientLogs.length === 1, 'the client log line');
    expect(t.clientLogs[0]).to.include({ end: 'connect-timeout' });
    expect(t.linkLines).to.not.include('client: link 0 up');
  });

  it('the server refuses a client that presents no certificate', async () => {
    const noCert = { ca: readFileSync(pki.ca), rejectUnauthorized: true };
    const t = await tunnelWith(material(pki.server, pki.ca), noCert);
    expect((await echoThrough(t, Buffer.from('let me in'))).bytes).to.equal(0);
    await until(() => t.linkLines.some((l) => /^server: link from .* refused/.test(l)), 'the refusal to be logged');
    expect(t.server.liveLinks()).to.have.length(0);
  });

  it('the client refuses a server whose certificate its CA did not sign', async () => {
    const t = await tunnelWith(material(pki.rogueServer, pki.ca), clientTlsOptions(material(pki.client, pki.ca)));
    expect((await echoThrough(t, Buffer.from('hello?'))).bytes).to.equal(0);
    await until(() => t.linkLines.some((l) => /^client: link 0 cannot connect: .*certificate/.test(l)), 'the refusal to be logged');
    expect(t.linkLines).to.not.include('client: link 0 up');
  });

  it('the client refuses a trusted certificate issued for another name', async () => {
    const t = await tunnelWith(material(pki.server, pki.ca), clientTlsOptions(material(pki.client, pki.ca), 'db.example'));
    expect((await echoThrough(t, Buffer.from('hello?'))).bytes).to.equal(0);
    await until(() => t.linkLines.some((l) => /^client: link 0 cannot connect: .*(altnames|Hostname)/i.test(l)), 'the refusal to be logged');
  });

  it('a client that is not speaking TLS is refused in one line that says why', async () => {
    const t = await tunnelWith(material(pki.server, pki.ca), clientTlsOptions(material(pki.client, pki.ca)));
    const plain = res.socket(await connectTo(t.serverPort));
    plain.on('error', () => {}).on('end', () => plain.end());
    const port = plain.localPort;
    plain.write('GET / HTTP/1.0\r\n\r\n');
    await closed(plain);
    await until(() => t.linkLines.some((l) => l.includes('refused')), 'the refusal to be logged');
    // OpenSSL's own message runs over two lines and names its source file.
    expect(t.linkLines.filter((l) => l.includes('refused'))).to.deep.equal([`server: link from 127.0.0.1:${port} refused: http request`]);
  });

  it('a handshake holds a descriptor of the reserve from its TCP accept, and past the reserve is closed at once', async () => {
    let open = 0;
    const fdReserve = new FdReserve({ limit: 100, reserve: 10, countOpen: () => open, recountMs: 0 });
    const acceptErrors = new AcceptErrorCounts();
    const notices: string[] = [];
    const target = echoServer(res);
    const t = await startTunnel(
      tcp(await listen(target)),
      { tls: serverTlsOptions(material(pki.server, pki.ca), 60_000), fdReserve, acceptErrors, onNotice: (n) => notices.push(n) },
      { tls: clientTlsOptions(material(pki.client, pki.ca)), linkWaitMs: 400 },
    );
    tunnels.push(t);
    await until(() => t.server.liveLinks().length === 1, 'the client link');
    const linkFds = fdReserve.inUse;
    // Three clients that connect and never start their handshake: each holds a descriptor.
    const silent = await Promise.all([0, 1, 2].map(async () => res.socket(await connectTo(t.serverPort))));
    await until(() => fdReserve.inUse === linkFds + 3, `3 more descriptors than the link's ${linkFds} (in use: ${fdReserve.inUse})`);
    // With the reserve reached a new one is closed at once, long before its handshake timeout.
    open = 90; // the whole count: 10 free of 100
    const late = res.socket(await connectTo(t.serverPort));
    late.setTimeout(10_000, () => late.destroy(new Error('still open: the reserve did not close it')));
    late.on('error', () => {}).on('end', () => late.end());
    await closed(late);
    expect(acceptErrors.get('fd-reserve')).to.equal(1);
    expect(notices.some((n) => n.includes('new clients are closed at once'))).to.equal(true);
    expect(t.linkLines.filter((l) => l.includes('refused'))).to.deep.equal([]);
    open = 0;
    silent.forEach((s) => s.destroy());
    await until(() => fdReserve.inUse === linkFds, 'the silent clients\' descriptors to be given back');
  });

  it('shutdown closes clients still in their handshake instead of waiting out their handshake timeout', async () => {
    const fdReserve = new FdReserve({ limit: 100, reserve: 10, countOpen: () => 0, recountMs: 0 });
    const lines: string[] = [];
    const server = new TunnelServer({ listen: tcp(0), target: tcp(1), tls: serverTlsOptions(material(pki.server, pki.ca), 600_000), fdReserve, onLinkLog: (l) => lines.push(l) });
    const address = await server.listen();
    const silent = res.socket(await connectTo(address.kind === 'tcp' ? address.port : 0));
    silent.on('error', () => {}).on('end', () => silent.end());
    await until(() => fdReserve.inUse === 1, 'the silent client accepted');
    // Before, this waited for the silent client's 10-minute handshake timeout.
    await server.shutdown(0);
    await closed(silent);
    expect(fdReserve.inUse).to.equal(0);
    expect(lines, 'closed by the shutdown, not refused').to.deep.equal([]);
  });

  it('loadTlsFiles refuses a file larger than any PEM file before reading it', () => {
    const huge = join(pki.dir, 'huge-key.pem');
    truncateSync(pem(huge), MAX_PEM_FILE_BYTES + 1); // sparse: nothing is written
    expect(() => loadTlsFiles({ certPath: pki.client.cert, keyPath: huge, caPath: pki.ca })).to.throw(
      new RegExp(`^--tls-key: .*huge-key.pem is ${MAX_PEM_FILE_BYTES + 1} bytes, more than a PEM file can be`),
    );
  });

  it('loadTlsFiles names the flag of a file it cannot read', () => {
    expect(() => loadTlsFiles({ certPath: pki.client.cert, keyPath: '/nonexistent/key.pem', caPath: pki.ca })).to.throw(
      /^--tls-key: cannot read \/nonexistent\/key.pem: ENOENT$/,
    );
  });
});
