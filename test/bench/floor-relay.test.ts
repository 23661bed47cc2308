import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { randomSplit } from '../helpers/chunking.js';
import { startNode, type RunningCli } from '../helpers/cli.js';
import { connectTo, listen, readAll, Resources, until, writeAll } from '../helpers/sockets.js';

const FLOOR = fileURLToPath(new URL('../../bench/baselines/floor-relay.js', import.meta.url));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// The floor relay's figures mean something only if it relays what a proxy relays: every byte both
// ways, a FIN passed on, one access-log line per connection.
describe('bench: the floor relay', function () {
  if (process.platform !== 'linux') return;
  const res = new Resources();
  let relay: RunningCli | null = null;
  afterEach(async () => {
    await relay?.kill();
    relay = null;
    await res.closeAll();
  });

  async function start(targetPort: number): Promise<number> {
    const run = startNode(FLOOR, ['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`]);
    relay = run;
    await until(() => /listening on/.test(run.stdout()) || run.child.exitCode !== null, 'the ready line');
    const match = run.stdout().match(/floor relay listening on 127\.0\.0\.1:(\d+)/);
    expect(match, run.stderr()).to.not.equal(null);
    return Number(match![1]);
  }

  it('relays every byte both ways (random data, random chunking) and logs one line per connection', async () => {
    const echo = res.server(createServer({ allowHalfOpen: true }, (s: Socket) => s.pipe(s)));
    const port = await start(await listen(echo));
    const clients: { socket: Socket; port: number; sent: Buffer }[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = res.socket(await connectTo(port));
      clients.push({ socket, port: socket.localPort!, sent: randomBytes(100_000 + i * 7919) });
    }
    const results = await Promise.all(
      clients.map(async ({ socket, sent }, i) => {
        const back = readAll(socket);
        await writeAll(socket, randomSplit(sent, 100 + i, 9000));
        return back;
      }),
    );
    for (const [i, got] of results.entries()) expect(got.sha256, `connection ${i}`).to.equal(sha(clients[i]!.sent));
    await until(() => relay!.stderr().split('\n').filter((l) => l.includes(' conn=')).length === 3, 'three log lines');
    for (const { port: clientPort, sent } of clients) {
      const line = relay!.stderr().split('\n').find((l) => l.includes(`client=127.0.0.1:${clientPort} `));
      expect(line).to.match(new RegExp(` up=${sent.length} down=${sent.length} duration=\\d+ms end=closed$`));
    }
  });

  it('closes a client whose target refuses, and logs connect-failed', async () => {
    const gone = res.server(createServer());
    const refused = await listen(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    const port = await start(refused);
    const client = res.socket(await connectTo(port));
    client.resume(); // the FIN is seen only by a socket that reads
    await new Promise((r) => client.once('end', r));
    await until(() => relay!.stderr().includes('end=connect-failed'), 'the log line');
  });
});
