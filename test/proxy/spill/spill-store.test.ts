import { expect } from 'chai';
import { mkdir, mkdtemp, open, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SpillDirError, SpillStore, SPILL_RECORD_HEADER_BYTES, type SegmentFile, type SpillSpool, type SpillStoreOptions } from '../../../proxy/spill/index.js';
import { seededRandom } from '../../../scenarios/harness/random.js';

/** Messages of random sizes in [0, maxSize), each filled with bytes derived from its index, so any mix-up shows. */
function messages(seed: number, count: number, maxSize: number): Buffer[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const b = Buffer.alloc(Math.floor(rnd() * maxSize));
    for (let k = 0; k < b.length; k++) b[k] = (i * 31 + k) & 0xff;
    return b;
  });
}

async function readAllBack(spool: SpillSpool, maxBytes?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (;;) {
    const got = await spool.read(maxBytes);
    if (got.length === 0) return out;
    out.push(...got);
  }
}

function expectSame(got: Buffer[], want: Buffer[]): void {
  expect(got.length).to.equal(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]!.equals(want[i]!), `message ${i}`).to.equal(true);
}

/** Appends, waiting out `busy`; fails the test on `full`. */
async function appendAll(spool: SpillSpool, msgs: Buffer[], onEach?: () => void): Promise<void> {
  for (const m of msgs) {
    let answer = spool.append(m);
    while (answer === 'busy') {
      await spool.whenWritable();
      answer = spool.append(m);
    }
    expect(answer).to.equal('ok');
    onEach?.();
  }
}

/** Appends, waiting out `busy`, until the spool answers `full`: the messages it took. */
async function appendUntilFull(spool: SpillSpool, msgs: Buffer[]): Promise<Buffer[]> {
  const accepted: Buffer[] = [];
  for (const m of msgs) {
    let answer = spool.append(m);
    while (answer === 'busy') {
      await spool.whenWritable();
      answer = spool.append(m);
    }
    if (answer === 'full') break;
    accepted.push(m);
  }
  return accepted;
}

/** A segment opener whose writes fail with `code` once `allowBytes` (shared by all files) are used up. */
function failingDisk(allowBytes: number, code = 'ENOSPC'): { openSegment: (path: string) => Promise<SegmentFile>; allow: (bytes: number) => void } {
  let left = allowBytes;
  return {
    allow: (bytes) => (left = bytes),
    openSegment: async (path) => {
      const handle = await open(path, 'wx+');
      return {
        read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
        close: () => handle.close(),
        async writev(buffers, position) {
          if (left <= 0) throw Object.assign(new Error(`${code}: no space left on device, write`), { code });
          // A short write first, as a nearly full disk does.
          let room = left;
          const part: Buffer[] = [];
          for (const b of buffers) {
            if (room === 0) break;
            part.push(b.subarray(0, Math.min(room, b.length)));
            room -= part[part.length - 1]!.length;
          }
          const { bytesWritten } = await handle.writev(part, position);
          left -= bytesWritten;
          return { bytesWritten };
        },
      };
    },
  };
}

describe('SpillStore', () => {
  let base: string;
  const stores: SpillStore[] = [];
  const openStore = async (options: Partial<SpillStoreOptions> = {}): Promise<SpillStore> => {
    const store = await SpillStore.open({ dir: join(base, 'spill'), maxBytes: 64 * 1024 * 1024, ...options });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'sluice-spill-test-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await rm(base, { recursive: true, force: true });
  });

  describe('the spill directory', () => {
    it('is created if missing, gets one run directory named sluice-<pid>-<hex>, removed on close', async () => {
      const store = await openStore();
      expect(basename(store.runDir)).to.match(new RegExp(`^sluice-${process.pid}-[0-9a-f]{12}$`));
      expect(await readdir(join(base, 'spill'))).to.deep.equal([basename(store.runDir)]);
      expect(await readdir(store.runDir)).to.deep.equal([]); // the write probe is gone
      await store.close();
      expect(await readdir(join(base, 'spill'))).to.deep.equal([]);
    });

    it('that is not writable (a path under a regular file) refuses to open with one line naming it', async () => {
      const file = join(base, 'a-file');
      await writeFile(file, 'x');
      const dir = join(file, 'sub');
      const err = await SpillStore.open({ dir, maxBytes: 1024 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(SpillDirError);
      const e = err as SpillDirError;
      expect(e.code).to.equal('SLUICE_SPILL_DIR_UNWRITABLE');
      expect(e.dir).to.equal(dir);
      expect(e.reason).to.equal('ENOTDIR');
      expect(e.message).to.equal(`--spill-dir ${dir} is not a writable directory (ENOTDIR)`);
      expect(e.message).not.to.include('\n');
    });

    it('that is a regular file refuses to open too', async () => {
      const file = join(base, 'a-file');
      await writeFile(file, 'x');
      const err = (await SpillStore.open({ dir: file, maxBytes: 1024 }).catch((e: unknown) => e)) as SpillDirError;
      expect(err).to.be.instanceOf(SpillDirError);
      expect(err.message).to.match(new RegExp(`^--spill-dir ${file} is not a writable directory \\((EEXIST|ENOTDIR)\\)$`));
    });

    it('under a parent that answers mkdir with ENOENT (procfs) refuses to open instead of looping', async function () {
      if (process.platform !== 'linux') this.skip();
      const err = (await SpillStore.open({ dir: '/proc/x', maxBytes: 1024 }).catch((e: unknown) => e)) as SpillDirError;
      expect(err).to.be.instanceOf(SpillDirError);
      expect(err.message).to.equal('--spill-dir /proc/x is not a writable directory (ENOENT)');
    });

    it('that is a dangling symlink refuses to open; missing parents are created', async () => {
      const link = join(base, 'dangling');
      await symlink(join(base, 'nowhere'), link);
      const err = (await SpillStore.open({ dir: link, maxBytes: 1024 }).catch((e: unknown) => e)) as SpillDirError;
      expect(err).to.be.instanceOf(SpillDirError);
      expect(err.reason).to.equal('ENOENT');
      const deep = await openStore({ dir: join(base, 'a', 'b', 'c') });
      expect(basename(dirname(deep.runDir))).to.equal('c');
    });

    it('loses the leftovers of crashed runs (dead pid, or our own pid from a previous life) and nothing else', async () => {
      const dir = join(base, 'spill');
      const names = {
        dead: 'sluice-999999-00aa11bb22cc',
        own: `sluice-${process.pid}-0123456789ab`,
        alive: 'sluice-1-ffffffffffff',
        notOurs: 'sluice-data',
        oddName: 'sluice-123-XYZ',
      };
      for (const name of Object.values(names)) {
        await mkdir(join(dir, name), { recursive: true });
        await writeFile(join(dir, name, 'c1-000001.seg'), 'old');
      }
      await writeFile(join(dir, 'sluice-5-abcdefabcdef.txt'), 'a file, not a run');
      const alive = new Set([1]);
      const store = await openStore({ isAlive: (pid) => alive.has(pid) });
      expect([...store.removedLeftovers].sort()).to.deep.equal([names.dead, names.own].sort());
      const left = (await readdir(dir)).sort();
      expect(left).to.deep.equal([names.alive, names.notOurs, names.oddName, basename(store.runDir), 'sluice-5-abcdefabcdef.txt'].sort());
    });

    it('never removes the run directory of another store open in this process', async () => {
      const first = await openStore();
      const second = await openStore();
      expect(second.removedLeftovers).to.deep.equal([]);
      expect(await readdir(join(base, 'spill'))).to.include(basename(first.runDir));
    });
  });

  describe('a spool', () => {
    it('gives back many messages whole and in order across several segments, deleting each once read', async () => {
      const store = await openStore({ segmentBytes: 64 * 1024, writeBatchBytes: 16 * 1024, readBatchBytes: 10_000 });
      const spool = store.openSpool();
      const msgs = messages(1, 3000, 300);
      await appendAll(spool, msgs);
      await spool.flush();
      const bytes = msgs.reduce((n, m) => n + m.length, 0);
      expect(spool.backlogMessages).to.equal(msgs.length);
      expect(spool.backlogBytes).to.equal(bytes);
      expect(store.bytesOnDisk).to.equal(bytes + SPILL_RECORD_HEADER_BYTES * msgs.length);
      const segmentsBefore = spool.segmentCount;
      expect(segmentsBefore).to.be.above(5);
      const got: Buffer[] = [];
      let fewestSegments = segmentsBefore;
      for (;;) {
        const batch = await spool.read();
        if (batch.length === 0) break;
        got.push(...batch);
        fewestSegments = Math.min(fewestSegments, (await readdir(store.runDir)).length);
      }
      expectSame(got, msgs);
      expect(fewestSegments).to.be.below(segmentsBefore);
      expect(await readdir(store.runDir)).to.deep.equal([]);
      expect(spool.backlogMessages).to.equal(0);
      expect(store.budget.usedBytes).to.equal(0);
      expect(store.bytesOnDisk).to.equal(0);
      expect(store.bytesWrittenTotal).to.equal(bytes + SPILL_RECORD_HEADER_BYTES * msgs.length);
    });

    for (const seed of [1, 2, 3]) {
      it(`interleaves appends and reads at random without loss or reordering, RAM within two write batches (seed ${seed})`, async () => {
        const writeBatchBytes = 8 * 1024;
        const store = await openStore({ segmentBytes: 32 * 1024, writeBatchBytes });
        const spool = store.openSpool();
        const msgs = messages(seed, 4000, 400);
        const rnd = seededRandom(seed + 100);
        let peakBuffered = 0;
        const got: Buffer[] = [];
        let writerDone = false;
        const writer = (async () => {
          for (let i = 0; i < msgs.length; i += 50) {
            await appendAll(spool, msgs.slice(i, i + 50), () => (peakBuffered = Math.max(peakBuffered, spool.bufferedBytes)));
            if (rnd() < 0.3) await new Promise((r) => setImmediate(r));
          }
          writerDone = true;
        })();
        const reader = (async () => {
          while (!writerDone || spool.backlogMessages > 0) {
            const batch = await spool.read(1 + Math.floor(rnd() * 5000));
            got.push(...batch);
            if (batch.length === 0) await new Promise((r) => setImmediate(r));
          }
        })();
        await Promise.all([writer, reader]);
        expectSame(got, msgs);
        expect(peakBuffered).to.be.at.most(2 * writeBatchBytes + 400 + SPILL_RECORD_HEADER_BYTES);
        expect(store.budget.usedBytes).to.equal(0);
      });
    }

    it('starts writing at half a batch, answers busy only while one batch is written and the next is full, ok after whenWritable()', async () => {
      const store = await openStore({ writeBatchBytes: 1000 });
      const spool = store.openSpool();
      const m = Buffer.alloc(96); // 100 bytes as a record
      let ok = 0;
      while (spool.append(m) === 'ok') ok++;
      // 500 bytes went to the disk at once; the next 1000 filled the batch behind them.
      expect(ok).to.equal(15);
      expect(spool.canAppend(96)).to.equal('busy');
      expect(spool.bufferedBytes).to.equal(1500);
      await spool.whenWritable();
      expect(spool.append(m)).to.equal('ok');
      expect(spool.backlogMessages).to.equal(16);
      await spool.flush();
      expect(spool.bufferedBytes).to.equal(0);
      expect(store.bytesOnDisk).to.equal(1600);
    });

    it('with a full batch and no write in progress, starts the write instead of answering busy', async () => {
      const store = await openStore({ writeBatchBytes: 1000 });
      const spool = store.openSpool();
      expect(spool.append(Buffer.alloc(396))).to.equal('ok'); // 400: under half, waits for the end of the turn
      expect(spool.canAppend(696)).to.equal('ok'); // 400 + 700 > 1000: the 400 go to the disk now
      expect(spool.append(Buffer.alloc(696))).to.equal('ok');
      await spool.flush();
      expectSame(await readAllBack(spool), [Buffer.alloc(396), Buffer.alloc(696)]);
    });

    it('takes a message larger than a write batch and a read batch when its batch is empty, and gives it back whole', async () => {
      const store = await openStore({ writeBatchBytes: 4096, readBatchBytes: 1000, segmentBytes: 64 * 1024 });
      const spool = store.openSpool();
      const big = messages(9, 1, 1)[0]!;
      const msgs = [Buffer.from('before'), Buffer.alloc(300_000, 0x5a), big, Buffer.from('after')];
      await appendAll(spool, msgs);
      expectSame(await readAllBack(spool), msgs);
    });

    it('reads into the same memory again once a batch is released, and only then', async () => {
      const store = await openStore({ readBatchBytes: 4096, writeBatchBytes: 64 * 1024 });
      const spool = store.openSpool();
      const msgs = messages(8, 400, 100);
      await appendAll(spool, msgs);
      const first = await spool.read();
      const second = await spool.read();
      expect(second[second.length - 1]!.buffer).not.to.equal(first[first.length - 1]!.buffer);
      const firstMemory = first[first.length - 1]!.buffer;
      const snapshot = first.map((m) => Buffer.from(m));
      spool.release([Buffer.alloc(10), Buffer.from('not ours')]); // ignored
      spool.release(first);
      spool.release(first); // twice is harmless
      const third = await spool.read();
      expect(third[third.length - 1]!.buffer).to.equal(firstMemory);
      const rest = await readAllBack(spool);
      expectSame([...snapshot, ...second, ...third, ...rest], msgs);
    });

    it('deletes its segments and gives its budget back when closed', async () => {
      const store = await openStore({ segmentBytes: 64 * 1024, writeBatchBytes: 16 * 1024 });
      const spool = store.openSpool();
      await appendAll(spool, messages(4, 2000, 200));
      await spool.flush();
      expect((await readdir(store.runDir)).length).to.be.above(1);
      expect(store.budget.usedBytes).to.be.above(0);
      await spool.close();
      expect(await readdir(store.runDir)).to.deep.equal([]);
      expect(store.budget.usedBytes).to.equal(0);
      expect(store.bytesOnDisk).to.equal(0);
      expect(store.openSpools).to.equal(0);
      expect(spool.append(Buffer.from('x'))).to.equal('full');
      expect(await spool.read()).to.deep.equal([]);
    });

    it('is closed with writes and a read still in progress without leaking files or budget', async () => {
      const store = await openStore({ segmentBytes: 64 * 1024 });
      const spool = store.openSpool();
      await appendAll(spool, messages(5, 3000, 300));
      const reading = spool.read(1000);
      await spool.close();
      await reading;
      expect(await readdir(store.runDir)).to.deep.equal([]);
      expect(store.budget.usedBytes).to.equal(0);
    });
  });

  describe('the budget (--spill-max)', () => {
    it('is shared by two connections: exactly at the limit is ok, one byte past is full, and reading back frees it', async () => {
      const store = await openStore({ maxBytes: 1000, segmentBytes: 64 * 1024 });
      const a = store.openSpool();
      const b = store.openSpool();
      expect(a.append(Buffer.alloc(596))).to.equal('ok'); // 600 with its header
      expect(b.canAppend(397)).to.equal('full'); // 401 > 400 left
      expect(b.append(Buffer.alloc(396))).to.equal('ok'); // exactly 1000
      expect(store.budget.usedBytes).to.equal(1000);
      expect(a.append(Buffer.alloc(0))).to.equal('full');
      expect(b.append(Buffer.alloc(0))).to.equal('full');
      expect((await a.read()).map((m) => m.length)).to.deep.equal([596]);
      expect(await a.read()).to.deep.equal([]); // caught up: a's segment is deleted
      expect(store.budget.usedBytes).to.equal(400);
      expect(b.append(Buffer.alloc(596))).to.equal('ok');
      expect(a.append(Buffer.alloc(0))).to.equal('full');
    });

    it('closing one connection frees room for the other', async () => {
      const store = await openStore({ maxBytes: 500 });
      const a = store.openSpool();
      const b = store.openSpool();
      expect(a.append(Buffer.alloc(496))).to.equal('ok');
      expect(b.canAppend(1)).to.equal('full');
      await a.close();
      expect(b.append(Buffer.alloc(496))).to.equal('ok');
    });
  });

  it('rejects a read the disk fails, and still cleans up on close', async () => {
    const store = await openStore({
      openSegment: async (path) => {
        const handle = await open(path, 'wx+');
        return {
          writev: (buffers, position) => handle.writev(buffers, position),
          close: () => handle.close(),
          read: async () => {
            throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
          },
        };
      },
    });
    const spool = store.openSpool();
    await appendAll(spool, messages(3, 10, 50));
    await spool.flush();
    const err = (await spool.read().catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).to.equal('EIO');
    await spool.close();
    expect(await readdir(store.runDir)).to.deep.equal([]);
    expect(store.budget.usedBytes).to.equal(0);
  });

  describe('a full disk', () => {
    it('turns writes into "full" after a short write, reports it once, and still delivers everything in order', async () => {
      const disk = failingDisk(5000);
      const reports: string[] = [];
      const store = await openStore({
        writeBatchBytes: 2048,
        openSegment: disk.openSegment,
        onDiskFull: (err) => reports.push(err.code ?? '?'),
      });
      const a = store.openSpool();
      const b = store.openSpool();
      const msgs = messages(6, 2000, 60);
      const accepted = await appendUntilFull(a, msgs);
      await a.flush();
      expect(a.diskError?.code).to.equal('ENOSPC');
      expect(a.append(Buffer.from('x'))).to.equal('full');
      expect(accepted.length).to.be.below(msgs.length);
      expect(accepted.reduce((n, m) => n + 4 + m.length, 0)).to.be.above(5000);
      // The other connection fails too; the log line is still only one.
      b.append(Buffer.from('b1'));
      await b.flush();
      expect(b.canAppend(1)).to.equal('full');
      expect(reports).to.deep.equal(['ENOSPC']);
      expect(store.diskFullEvents).to.equal(2);
      // What reached the disk comes from it, the rest from RAM: all of it, in order.
      expectSame(await readAllBack(a, 700), accepted);
      expect(store.budget.usedBytes).to.equal(4 + 2); // b's record, still waiting
      // With its backlog gone, the connection tries the disk again.
      disk.allow(1e9);
      expect(a.append(Buffer.from('again'))).to.equal('ok');
      await a.flush();
      expect(a.diskError).to.equal(null);
      expectSame(await readAllBack(a), [Buffer.from('again')]);
      expectSame(await readAllBack(b), [Buffer.from('b1')]);
      expect(store.budget.usedBytes).to.equal(0);
      expect(await readdir(store.runDir)).to.deep.equal([]);
    });

    it('recovers as the last refused byte is handed back, with no further read (a reader stops once its backlog is empty), and deletes the segment once read out', async () => {
      const disk = failingDisk(5000);
      const store = await openStore({ writeBatchBytes: 2048, openSegment: disk.openSegment });
      const a = store.openSpool();
      const accepted = await appendUntilFull(a, messages(7, 2000, 60));
      await a.flush();
      expect(a.diskError?.code).to.equal('ENOSPC');
      expect(a.segmentCount).to.equal(1);
      // Read as a message stage does: only while something is spilled.
      const got: Buffer[] = [];
      let segmentGoneWhileRamLeft = false;
      while (a.backlogMessages > 0) {
        got.push(...(await a.read(700)));
        if (a.segmentCount === 0 && a.bufferedBytes > 0) segmentGoneWhileRamLeft = true;
      }
      expectSame(got, accepted);
      expect(segmentGoneWhileRamLeft, 'the segment is deleted once read out, before the bytes in RAM are').to.equal(true);
      expect(a.diskError).to.equal(null);
      expect(a.bytesOnDisk).to.equal(0);
      expect(await readdir(store.runDir)).to.deep.equal([]);
      expect(store.budget.usedBytes).to.equal(0);
      // The disk has room again: the connection spills again.
      disk.allow(1e9);
      expect(a.append(Buffer.from('again'))).to.equal('ok');
      await a.flush();
      expect(a.diskError).to.equal(null);
      expectSame(await readAllBack(a), [Buffer.from('again')]);
    });
  });
});
