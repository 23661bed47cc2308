import { expect } from 'chai';
import { createServer, type Socket } from 'node:net';
import { RelayServer, type RelayServerOptions } from '../../../proxy/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, readAll, Resources, until, writeAll } from '../../helpers/sockets.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The memory budget holds for the memory, not only for the ledger: what the relay reads lands in
 * blocks the budget governs, nothing is allocated per read once it is full, and a block is never
 * reused while something still points into it.
 */
describe('RelayServer under a memory budget (read blocks)', () => {
  const res = new Resources();
  const servers: RelayServer[] = [];
  let poisonBefore: string | undefined;

  beforeEach(() => {
    poisonBefore = process.env.SLUICE_POISON_BLOCKS;
  });

  afterEach(async () => {
    if (poisonBefore === undefined) delete process.env.SLUICE_POISON_BLOCKS;
    else process.env.SLUICE_POISON_BLOCKS = poisonBefore;
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
    await res.closeAll();
  });

  async function start(targetPort: number, options: Partial<RelayServerOptions>): Promise<{ server: RelayServer; port: number }> {
    const server = new RelayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'tcp', host: '127.0.0.1', port: targetPort }, ...options });
    servers.push(server);
    const address = await server.listen();
    return { server, port: address.kind === 'tcp' ? address.port : 0 };
  }

  /** A target that accepts and reads nothing until told; `sockets` in arrival order. */
  function stalledTarget(): { port: Promise<number>; sockets: Socket[] } {
    const sockets: Socket[] = [];
    const server = res.server(createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => sockets.push(s)));
    return { port: listen(server), sockets };
  }

  for (const seed of [1, 2]) {
    it(`delivers every byte intact both ways with many clients, a stalled-then-echoing target and poisoned blocks (seed ${seed})`, async function () {
      this.timeout(90_000); // 120 MB through 4 KiB blocks, every freed block poisoned
      process.env.SLUICE_POISON_BLOCKS = '1';
      const target = stalledTarget();
      const { server, port } = await start(await target.port, { memoryBudgetBytes: 128 * KiB, windowBytes: 64 * KiB });
      expect([server.blocks.poison, server.blocks.blockBytes]).to.deep.equal([true, 4 * KiB]);
      // More than the kernel buffers between the relay and a target that reads nothing (a few MB), so the budget fills.
      const clients = 10;
      const sent = Array.from({ length: clients }, (_, i) => randomBytes(6 * MiB + i * 1000 + seed, seed * 100 + i));
      const sockets = await Promise.all(sent.map(async () => res.socket(await connectTo(port))));
      const echoed = sockets.map((s) => readAll(s));
      const writes = sockets.map((s, i) => writeAll(s, randomChunks(sent[i]!, 1 + ((seed * 7919 + i * 104729) % 40_000), seed + i)));
      await until(() => target.sockets.length === clients, 'every client at the target');
      // Stalled: the budget fills and directions queue for blocks.
      await until(() => server.blocks.waiting > 0, 'directions waiting for read blocks');
      for (const s of target.sockets) s.pipe(s); // now it echoes everything (pipe: it stops reading while its writes wait)
      await Promise.all(writes);
      const got = await Promise.all(echoed);
      expect(got).to.deep.equal(sent.map((d) => ({ bytes: d.length, sha256: sha256(d) })));
      await until(() => server.activeConnections === 0 && server.governor.budget.usedBytes === 0, 'every connection and its charge gone');
      expect(server.blocks.ledger.inUse).to.equal(0);
    });
  }

  it('gives every block and its charge back when connections die with bytes still unflushed (reset by the relay, destroyed by the target)', async function () {
    this.timeout(30_000);
    const target = stalledTarget();
    const { server, port } = await start(await target.port, { memoryBudgetBytes: 256 * KiB, windowBytes: 256 * KiB });
    const chunks = randomChunks(randomBytes(8 * MiB, 5), 60_000, 1); // made once: the relay shares this event loop
    const clients = await Promise.all(Array.from({ length: 16 }, async () => res.socket(await connectTo(port))));
    for (const c of clients) {
      c.on('error', () => {});
      void writeAll(c, chunks, false).catch(() => {});
    }
    await until(() => target.sockets.length === 16, 'sixteen target connections');
    await until(() => server.blocks.waiting > 0, 'the budget full, writes to the target pending');
    // Half are reset by the relay itself, the other half die at the target: either way a sink goes with bytes unflushed.
    for (const c of server.connectionViews(8).connections) expect(server.resetConnection(c.id)).to.equal(true);
    await until(() => server.activeConnections === 8, 'eight connections reset');
    for (const s of target.sockets) s.destroy();
    await until(() => server.activeConnections === 0, 'every connection closed');
    server.blocks.tick(); // the shared landed block, which only the pool holds now, goes too
    expect([server.blocks.ledger.inUse, server.governor.budget.usedBytes]).to.deep.equal([0, 0]);
  });

  it('allocates nothing per read once the budget is full (counted)', async function () {
    this.timeout(60_000);
    const target = stalledTarget();
    const { server, port } = await start(await target.port, { memoryBudgetBytes: 256 * KiB, windowBytes: 256 * KiB });
    const clients = await Promise.all(Array.from({ length: 16 }, async () => res.socket(await connectTo(port))));
    const data = randomBytes(32 * MiB, 9);
    for (const c of clients) void writeAll(c, randomChunks(data, 50_000, 3), false).catch(() => {});
    await until(() => target.sockets.length === 16, 'sixteen target connections');
    await until(() => server.blocks.waiting > 0, 'the budget full');

    const allocations = countAllocationsFrom('/dist/proxy/');
    res.defer(allocations.restore);
    const readBefore = server.stats().clientToTarget.bytes;
    // Half the targets drain; the other half stay stalled and keep the budget full.
    for (const s of target.sockets.slice(0, 8)) s.on('data', () => {}).resume();
    await until(() => server.stats().clientToTarget.bytes - readBefore >= 16 * MiB, '16 MiB more read at the budget');
    const reads = (server.stats().clientToTarget.bytes - readBefore) / server.blocks.blockBytes; // each read brings a block at most
    allocations.restore();
    expect(reads).to.be.at.least(512);
    expect(allocations.calls).to.deep.equal([]);
    expect(server.blocks.fallbacks).to.equal(0);
    for (const c of clients) c.destroy();
  });
});

/** Counts Buffer allocations whose stack passes through `pathPart` (the compiled proxy code), until restored. */
function countAllocationsFrom(pathPart: string): { calls: string[]; restore: () => void } {
  const calls: string[] = [];
  const originals: [keyof typeof Buffer, unknown][] = [];
  const wrap = <K extends 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow' | 'concat' | 'from'>(name: K): void => {
    const original = Buffer[name] as (...args: unknown[]) => Buffer;
    originals.push([name, original]);
    (Buffer as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      // A view of an existing ArrayBuffer allocates no memory.
      const isView = name === 'from' && (args[0] instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && args[0] instanceof SharedArrayBuffer));
      if (!isView) {
        const stack = new Error().stack ?? '';
        if (stack.includes(pathPart)) calls.push(`${name}: ${stack.split('\n').slice(2, 4).join(' <- ').trim()}`);
      }
      return original.apply(this, args);
    };
  };
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat', 'from'] as const) wrap(name);
  let restored = false;
  return {
    calls,
    restore: () => {
      if (restored) return;
      restored = true;
      for (const [name, original] of originals) (Buffer as unknown as Record<string, unknown>)[name as string] = original;
    },
  };
}
