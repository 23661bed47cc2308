import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { readyPort, startCli, type RunningCli } from '../helpers/cli.js';
import { randomBytes, sha256 } from '../../scenarios/harness/random.js';
import { connectTo, listen, readAll, Resources, until, writeAll } from '../helpers/sockets.js';

/**
 * The shape of the check run from outside the repo, with the real processes: six connections
 * share one tunnel (`sluice tunnel-client` -> `sluice tunnel-server`), the target stalls one of
 * them for 4 s, the other five deliver 16 MiB each intact before it resumes, the stalled one then
 * completes intact, and neither sidecar's RSS grows by more than 48 MB. Slow: not in the default
 * suite; run with `npm run test:slow`.
 */
const MiB = 1024 * 1024;

/** Extra sidecar flags from SLUICE_STALL_ARGS (for experiments), e.g. "--max-window 4MiB". */
function extraArgs(): string[] {
  return (process.env.SLUICE_STALL_ARGS ?? '').split(' ').filter((a) => a !== '');
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe('tunnel sidecars: one stalled connection among six (slow)', function () {
  this.timeout(120_000);
  const res = new Resources();
  const running: RunningCli[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.kill()));
    await res.closeAll();
  });

  it('five deliver 16 MiB each while the sixth is stalled for 4 s; all intact; RSS growth under 48 MB each', async () => {
    let connections = 0;
    let stalledSince = 0;
    let stallOver = false;
    const replies: string[] = [];
    const target = res.server(
      createServer({ allowHalfOpen: true }, (s: Socket) => {
        const hash = createHash('sha256');
        let bytes = 0;
        if (connections++ === 0) {
          s.pause();
          stalledSince = performance.now();
          setTimeout(() => {
            stallOver = true;
            s.resume();
          }, 4_000);
        }
        s.on('data', (d: Buffer) => {
          hash.update(d);
          bytes += d.length;
        });
        s.on('end', () => {
          const reply = `${bytes} ${hash.digest('hex')}`;
          replies.push(reply);
          s.end(reply);
        });
      }),
    );
    const server = startCli(['tunnel-server', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${await listen(target)}`, '--quiet', ...extraArgs()]);
    running.push(server);
    const client = startCli(['tunnel-client', '--listen', '127.0.0.1:0', '--server', `127.0.0.1:${await readyPort(server, 'tunnel-server')}`, '--quiet', ...extraArgs()]);
    running.push(client);
    const port = await readyPort(client, 'tunnel-client');
    const pids = { client: client.child.pid!, server: server.child.pid! };
    const base = { client: rssBytes(pids.client), server: rssBytes(pids.server) };
    const peak = { ...base };
    const sampler = setInterval(() => {
      peak.client = Math.max(peak.client, rssBytes(pids.client));
      peak.server = Math.max(peak.server, rssBytes(pids.server));
    }, 50);
    try {
      const send = async (seed: number) => {
        const data = randomBytes(16 * MiB, seed);
        const sock = res.socket(await connectTo(port));
        const chunks: Buffer[] = [];
        sock.on('data', (d: Buffer) => chunks.push(d));
        const done = readAll(sock);
        await writeAll(sock, [data]);
        await done;
        return { reply: Buffer.concat(chunks).toString(), want: `${data.length} ${sha256(data)}`, beforeResume: !stallOver };
      };
      const stalled = send(100);
      await until(() => connections === 1, 'the first connection at the target');
      const others = await Promise.all([101, 102, 103, 104, 105].map(send));
      for (const o of others) {
        expect(o.reply).to.equal(o.want);
        expect(o.beforeResume, 'delivered while the sixth was stalled').to.equal(true);
      }
      const s = await stalled;
      expect(s.reply).to.equal(s.want);
      expect(performance.now() - stalledSince).to.be.at.least(4_000);
    } finally {
      clearInterval(sampler);
    }
    const growth = { client: (peak.client - base.client) / MiB, server: (peak.server - base.server) / MiB };
    console.log(`      RSS growth: tunnel-client ${growth.client.toFixed(1)} MiB, tunnel-server ${growth.server.toFixed(1)} MiB`);
    expect(growth.client).to.be.below(48);
    expect(growth.server).to.be.below(48);
  });
});
