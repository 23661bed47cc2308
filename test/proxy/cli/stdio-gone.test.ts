import { expect } from 'chai';
import { createServer } from 'node:net';
import { readyPort, startCli, type RunningCli } from '../../helpers/cli.js';
import { sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, readAll, Resources } from '../../helpers/sockets.js';

/**
 * A proxy's log reader can go away (a pipe to a logger that restarted): stderr then fails with
 * EPIPE. Found from outside: the next access-log line killed `serve` and every proxy in it.
 */
describe('sidecar with its stderr reader gone', function () {
  this.timeout(20_000);
  const res = new Resources();
  let cli: RunningCli | null = null;
  afterEach(async () => {
    await cli?.kill();
    cli = null;
    await res.closeAll();
  });

  it('keeps relaying when stderr fails (EPIPE), and still drains and exits 0 on SIGTERM', async () => {
    const echo = res.server(createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
    const targetPort = await listen(echo);
    cli = startCli(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--drain-timeout', '1s']);
    const port = await readyPort(cli, 'relay');
    // Our end of its stderr pipe closes: its next write gets EPIPE.
    cli.child.stderr!.destroy();
    // 150 access-log lines pass the 16 KiB batch: written at once, into the broken pipe.
    for (let i = 0; i < 150; i++) {
      const socket = res.socket(await connectTo(port));
      const reply = readAll(socket);
      const data = Buffer.from(`hello ${i}`);
      socket.end(data);
      expect((await reply).sha256).to.equal(sha256(data));
      socket.destroy();
    }
    const last = res.socket(await connectTo(port));
    const reply = readAll(last);
    last.end('still here');
    expect((await reply).bytes).to.equal('still here'.length);
    expect(cli.child.exitCode).to.equal(null);
    // The drain's notices go to the broken stderr too.
    cli.child.kill('SIGTERM');
    expect(await cli.exited).to.equal(0);
  });
});
