import { expect } from 'chai';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { connect, createServer, type Socket } from 'node:net';
import sinon from 'sinon';
import { endError, probeWay } from '../../../proxy/net/reset-probe.js';
import { listen, nextConnection, Resources } from '../../helpers/sockets.js';

describe('endError (the reset probe)', function () {
  if (process.platform !== 'linux') return;
  const res = new Resources();
  const bindingAtStart = probeWay.binding;
  afterEach(async () => {
    probeWay.binding = bindingAtStart;
    sinon.restore();
    syncBuiltinESMExports();
    await res.closeAll();
  });

  /** A connected pair: ours (probed, not reading until resumed) and the peer's. */
  async function pair(): Promise<{ ours: Socket; peer: Socket }> {
    const server = res.server(createServer({ allowHalfOpen: true }));
    const port = await listen(server);
    const accepted = nextConnection(server);
    const ours = res.socket(connect({ port, host: '127.0.0.1', allowHalfOpen: true }));
    // Paused in the connect callback, before Node starts reading: a reset then waits in the kernel.
    await new Promise<void>((resolve) => ours.once('connect', () => resolve(void ours.pause())));
    return { ours, peer: res.socket(await accepted) };
  }

  const ended = (s: Socket): Promise<void> => new Promise((resolve) => s.once('end', () => resolve()));

  /** Our FIN, then the peer's in answer: `ours` has seen 'end' (a probe then meets EPIPE). */
  async function closedCleanlyAfterOurFin(): Promise<Socket> {
    const { ours, peer } = await pair();
    peer.resume();
    peer.once('end', () => peer.end());
    ours.resume();
    const gotEnd = ended(ours);
    ours.end();
    await gotEnd;
    return ours;
  }

  /** The peer resets with bytes still unread in our receive queue (what libuv reports as an end). */
  async function resetBehindUnreadBytes(): Promise<Socket> {
    const { ours, peer } = await pair();
    peer.write(Buffer.alloc(1024));
    await new Promise((r) => setTimeout(r, 20)); // the bytes wait, unread, in our receive queue
    peer.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 20));
    return ours;
  }

  it('answers null for a FIN that follows our own (EPIPE), and leaves Error.stackTraceLimit as it was', async () => {
    const ours = await closedCleanlyAfterOurFin();
    const before = Error.stackTraceLimit;
    expect(endError(ours)).to.equal(null);
    expect(Error.stackTraceLimit).to.equal(before);
  });

  it('answers the reset the peer left pending, as a read error with a stack', async () => {
    const ours = await resetBehindUnreadBytes();
    const err = endError(ours);
    expect(err?.code).to.equal('ECONNRESET');
    expect(err?.syscall).to.equal('read');
    expect(err?.stack).to.be.a('string').and.include('read ECONNRESET');
  });

  it('probes through the fs binding, which reports EPIPE without throwing (writeSync is not called)', async () => {
    expect(probeWay.binding).to.equal(true);
    const ours = await closedCleanlyAfterOurFin();
    const writeSync = sinon.spy(fs, 'writeSync');
    syncBuiltinESMExports();
    expect(endError(ours)).to.equal(null);
    expect(writeSync.called).to.equal(false);
  });

  it('finds the pending reset through writeSync as well, where the binding is not used', async () => {
    probeWay.binding = false;
    const ours = await resetBehindUnreadBytes();
    expect(endError(ours)?.code).to.equal('ECONNRESET');
  });

  it('captures no stack trace for a writeSync probe that fails', async () => {
    probeWay.binding = false;
    const { ours } = await pair();
    const limits: number[] = [];
    sinon.replace(fs, 'writeSync', ((): number => {
      limits.push(Error.stackTraceLimit);
      throw Object.assign(new Error('EPIPE'), { code: 'EPIPE' });
    }) as typeof fs.writeSync);
    syncBuiltinESMExports();
    const before = Error.stackTraceLimit;
    expect(endError(ours)).to.equal(null);
    expect(limits).to.deep.equal([0]);
    expect(Error.stackTraceLimit).to.equal(before);
  });
});
