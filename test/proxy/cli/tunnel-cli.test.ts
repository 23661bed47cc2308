import { expect } from 'chai';
import { readAll, connectTo, echoServer, listen, Resources } from '../../helpers/sockets.js';
import { expectUsageError, readyPort, runCli, startCli, type RunningCli } from '../../helpers/cli.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { makePki, type TestPki } from '../../helpers/tls-certs.js';

describe('sluice tunnel-client / tunnel-server command line', function () {
  this.timeout(20_000);
  const res = new Resources();
  const running: RunningCli[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.kill()));
    await res.closeAll();
  });

  const server = ['tunnel-server', '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1'];
  const client = ['tunnel-client', '--listen', '127.0.0.1:0', '--server', '127.0.0.1:1'];
  const bad: [string[], RegExp][] = [
    [['tunnel-server', '--listen', '192.0.2.1:0', '--target', '127.0.0.1:1'], /^sluice tunnel-server: refusing plain links on non-loopback 192\.0\.2\.1:0: .*--insecure$/m],
    [['tunnel-server', '--listen', '[2001:db8::1]:0', '--target', '127.0.0.1:1'], /refusing plain links on non-loopback \[2001:db8::1\]:0/],
    [['tunnel-client', '--listen', '127.0.0.1:0'], /--server is required/],
    [['tunnel-server', '--listen', '127.0.0.1:0'], /--target is required/],
    [[...server, '--window', '128KiB'], /--window: must be at least 256KiB, got "128KiB"/],
    [[...server, '--window', '32MiB'], /--window: must be at most --max-window \(16MiB\), got 32MiB/],
    [[...client, '--links', '0'], /--links: must be at least 1/],
    [[...client, '--keepalive', '20ms'], /--keepalive: 0 \(off\) or at least 100ms, got 20ms$/m],
    [[...client, '--keepalive', 'often'], /--keepalive: expected a duration/],
    [[...server, '--tls-cert', 'a.pem'], /^sluice tunnel-server: --tls-key is required with --tls-cert \(mutual TLS needs --tls-cert, --tls-key and --tls-ca\)$/m],
    [[...client, '--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem', '--tls-ca', '/nonexistent/ca.pem'], /--tls-cert: cannot read \/nonexistent\/c.pem: ENOENT/],
    [[...client, '--tls-servername', 'db'], /--tls-servername needs --tls-cert, --tls-key and --tls-ca/],
    [[...client, '--insecure'], /unknown flag --insecure/],
    [[...server, '--reset-burst', '0'], /--reset-burst: must be at least 1, got "0"/],
    [[...client, '--max-control-replies', 'lots'], /--max-control-replies: expected a whole number, got "lots"/],
    [[...client, '--handshake-timeout', '1s'], /unknown flag --handshake-timeout/],
  ];
  for (const [args, message] of bad) {
    it(`\`sluice ${args.join(' ')}\` exits 2 with one line naming the problem`, async () => {
      await expectUsageError(args, message);
    });
  }

  for (const [command, own] of [
    ['tunnel-client', ['--server', '--links', '--link-wait', '--tls-servername']],
    ['tunnel-server', ['--target', '--insecure', '--handshake-timeout']],
  ] as const) {
    it(`\`sluice ${command} --help\` lists every option with examples`, async () => {
      const { code, stdout } = await runCli([command, '--help']);
      expect(code).to.equal(0);
      const common = ['--listen', '--window', '--max-window', '--no-auto-tune', '--keepalive', '--max-streams', '--tls-cert', '--tls-key', '--tls-ca'];
      const budgets = ['--accept-backlog', '--max-control-replies', '--max-empty-frames', '--window-updates-per-frame', '--reset-burst', '--reset-rate', '--half-close-timeout'];
      const relayLike = ['--max-conns', '--max-queue', '--queue-timeout', '--connect-timeout', '--idle-timeout', '--drain-timeout', '--metrics', '--log', '--quiet'];
      for (const flag of [...common, ...budgets, ...relayLike, ...own]) expect(stdout).to.include(flag);
      expect(stdout).to.match(new RegExp(`Examples:\\n {2}sluice ${command} --listen`));
    });
  }

  it('`sluice --help` lists the tunnel commands', async () => {
    const { stdout } = await runCli(['--help']);
    expect(stdout).to.match(/tunnel-client +plain TCP in/);
    expect(stdout).to.match(/tunnel-server +framed links in/);
  });

  async function startPair(extraServer: string[] = [], extraClient: string[] = []): Promise<{ port: number; s: RunningCli; c: RunningCli }> {
    const target = echoServer(res);
    const targetPort = await listen(target);
    const s = startCli(['tunnel-server', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--log', 'json', ...extraServer]);
    running.push(s);
    const serverPort = await readyPort(s, 'tunnel-server');
    const c = startCli(['tunnel-client', '--listen', '127.0.0.1:0', '--server', `127.0.0.1:${serverPort}`, '--log', 'json', ...extraClient]);
    running.push(c);
    const port = await readyPort(c, 'tunnel-client');
    expect(s.stdout()).to.equal(`sluice tunnel-server listening on 127.0.0.1:${serverPort}\n`);
    expect(c.stdout()).to.equal(`sluice tunnel-client listening on 127.0.0.1:${port}\n`);
    return { port, s, c };
  }

  async function echo(port: number, size: number): Promise<void> {
    const sock = res.socket(await connectTo(port));
    const data = randomBytes(size, size);
    const got = readAll(sock);
    sock.end(data);
    expect(await got).to.deep.equal({ bytes: size, sha256: sha256(data) });
  }

  it('both print the ready line with the real port, carry a connection, log it, and exit 0 on SIGTERM', async () => {
    const { port, s, c } = await startPair();
    await echo(port, 1_000_000);
    c.child.kill('SIGTERM');
    expect(await c.exited).to.equal(0);
    s.child.kill('SIGTERM');
    expect(await s.exited).to.equal(0);
    const line = (text: string) => JSON.parse(text.split('\n').find((l) => l.startsWith('{'))!) as Record<string, unknown>;
    expect(line(c.stderr())).to.include({ conn: 1, bytes_up: 1_000_000, bytes_down: 1_000_000, end: 'closed' });
    expect(line(s.stderr())).to.include({ conn: 1, bytes_up: 1_000_000, bytes_down: 1_000_000, end: 'closed' });
    expect(s.stderr()).to.match(/SIGTERM: going away on every link/);
  });

  it('tunnel-server --handshake-timeout 200ms closes a link that says nothing; --max-empty-frames 0 refuses the first empty frame', async () => {
    const target = echoServer(res);
    const s = startCli(['tunnel-server', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${await listen(target)}`, '--handshake-timeout', '200ms', '--max-empty-frames', '0']);
    running.push(s);
    const port = await readyPort(s, 'tunnel-server');
    const silent = res.socket(await connectTo(port));
    const connectedAt = performance.now();
    silent.resume();
    await new Promise((resolve) => silent.once('end', resolve));
    expect(performance.now() - connectedAt).to.be.at.least(150).and.below(2000);
    const empty = res.socket(await connectTo(port));
    const got: Buffer[] = [];
    empty.on('data', (d: Buffer) => got.push(d));
    empty.write(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // a window update with no flag and no delta: empty
    await new Promise((resolve) => empty.once('end', resolve));
    const bytes = Buffer.concat(got);
    // The server's first ping, then its go away: type 3, code 1.
    expect(bytes.subarray(bytes.length - 12).toString('hex')).to.equal('000300000000000000000001');
  });

  describe('with --tls-cert, --tls-key and --tls-ca', () => {
    let pki: TestPki | null = null;
    before(function () {
      pki = makePki();
      if (!pki) this.skip();
    });
    after(() => pki?.remove());

    it('carries connections over a mutually authenticated link', async () => {
      const p = pki!;
      const { port } = await startPair(
        ['--tls-cert', p.server.cert, '--tls-key', p.server.key, '--tls-ca', p.ca],
        ['--tls-cert', p.client.cert, '--tls-key', p.client.key, '--tls-ca', p.ca],
      );
      await echo(port, 200_000);
    });

    // Before, each of these was a stack trace and exit 1 (tunnel-client: "cannot listen: ..."),
    // and a CA file with no certificate started a server that refused every client.
    for (const [what, files, message] of [
      ['a key file that is not a key', (p: TestPki) => [p.server.cert, p.server.cert, p.ca], /^sluice tunnel-server: --tls-key: .* is not a usable PEM private key \(.+\)$/m],
      ['a key of another certificate', (p: TestPki) => [p.server.cert, p.client.key, p.ca], /^sluice tunnel-server: --tls-key: .* is not the key of --tls-cert .*$/m],
      ['a certificate file that is not a certificate', (p: TestPki) => [p.server.key, p.server.key, p.ca], /^sluice tunnel-server: --tls-cert: .* is not a usable PEM certificate \(.+\)$/m],
      ['a CA file with no certificate in it', (p: TestPki) => [p.server.cert, p.server.key, p.server.key], /^sluice tunnel-server: --tls-ca: .* holds no PEM certificate$/m],
    ] as const) {
      it(`exits 2 with one line naming the flag for ${what}`, async () => {
        const [cert, key, ca] = files(pki!);
        await expectUsageError([...server, '--tls-cert', cert, '--tls-key', key, '--tls-ca', ca], message);
      });
    }

    it('tunnel-client also exits 2 with one line for a key file that is not a key', async () => {
      const p = pki!;
      await expectUsageError([...client, '--tls-cert', p.client.cert, '--tls-key', p.ca, '--tls-ca', p.ca], /^sluice tunnel-client: --tls-key: .* is not a usable PEM private key \(.+\)$/m);
    });
  });
});
