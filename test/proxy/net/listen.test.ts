import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn } from '../../../proxy/net/listen.js';

/** Leaves a unix socket file behind the way a process killed with SIGKILL does. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('listenOn: unix socket files', () => {
  let dir: string;
  const servers: Server[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sluice-listen-'))));
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });
  const server = () => {
    const s = createServer();
    servers.push(s);
    return s;
  };

  it('takes over a socket file a killed process left behind (nothing answers on it)', async () => {
    const path = join(dir, 'api.sock');
    await staleSocket(path);
    expect(existsSync(path)).to.equal(true);
    expect(await listenOn(server(), { kind: 'unix', path })).to.deep.equal({ kind: 'unix', path });
  });

  it('leaves a live listener\'s socket alone: address in use', async () => {
    const path = join(dir, 'live.sock');
    await listenOn(server(), { kind: 'unix', path });
    const second = createServer();
    const err = await listenOn(second, { kind: 'unix', path }).then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).to.equal('EADDRINUSE');
  });

  it('leaves a file that is not a socket alone', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'keep me');
    const err = await listenOn(createServer(), { kind: 'unix', path }).then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).to.equal('EADDRINUSE');
    expect(readFileSync(path, 'utf8')).to.equal('keep me');
  });
});
