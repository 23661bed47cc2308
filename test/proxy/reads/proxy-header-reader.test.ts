import { expect } from 'chai';
import { encodeProxyV1, encodeProxyV2, uniqueIdTlv, type ProxyHeader } from '../../../windowing/index.js';
import type { Lender, ReadTarget, SourceReader } from '../../../proxy/pipeline/index.js';
import { ProxyHeaderReader, type ProxyHeaderOutcome } from '../../../proxy/reads/proxy-header-reader.js';

/** A reader the test drives by hand: what it "reads" is what the test delivers. */
class HandReader implements SourceReader {
  target: ReadTarget | null = null;
  paused = true;
  stopped = false;
  start(target: ReadTarget): void {
    this.target = target;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  stop(): void {
    this.stopped = true;
  }
  awaitFirstBytes(): void {}
  stopAwaiting(): void {}
  read(chunk: Buffer, lender: Lender | null = null): void {
    this.target!.deliver(chunk, lender);
  }
}

/** A direction stand-in that records what it is given. */
function recorder(): ReadTarget & { got: Buffer[]; ended: boolean } {
  const r = {
    got: [] as Buffer[],
    ended: false,
    takesLeases: true,
    valve: { hold: () => {}, release: () => {} },
    deliver: (chunk: Buffer) => r.got.push(Buffer.from(chunk)),
    end: () => (r.ended = true),
  };
  return r;
}

const V1 = encodeProxyV1({ kind: 'tcp4', source: { address: '203.0.113.7', port: 51000 }, destination: { address: '192.0.2.1', port: 443 } });
const V2 = encodeProxyV2({ kind: 'tcp6', source: { address: '2001:db8::7', port: 51000 }, destination: { address: '2001:db8::1', port: 443 } }, [uniqueIdTlv('abc')]);

describe('ProxyHeaderReader', () => {
  for (const [name, header] of [['v1', V1], ['v2', V2]] as const) {
    it(`${name}: a header split at every byte offset, data right behind it, arrives whole and the data first on start`, () => {
      const data = Buffer.from('first bytes of the connection');
      const wire = Buffer.concat([header, data]);
      for (let cut = 1; cut < wire.length; cut++) {
        const inner = new HandReader();
        const reader = new ProxyHeaderReader(inner);
        const outcomes: ProxyHeaderOutcome[] = [];
        reader.readHeader((o) => outcomes.push(o));
        expect(inner.paused, 'reading while the header is awaited').to.equal(false);
        inner.read(wire.subarray(0, cut));
        inner.read(wire.subarray(cut));
        expect(outcomes, `cut at ${cut}`).to.have.length(1);
        const got = (outcomes[0] as { header: ProxyHeader }).header;
        expect(got.kind, `cut at ${cut}`).to.equal(name === 'v1' ? 'tcp4' : 'tcp6');
        expect(inner.paused, 'paused once the header is whole').to.equal(true);
        const direction = recorder();
        reader.start(direction);
        expect(Buffer.concat(direction.got).toString(), `cut at ${cut}`).to.equal(data.toString());
      }
    });
  }

  it('once started, chunks go straight to the direction with their lender (no copy)', () => {
    const inner = new HandReader();
    const reader = new ProxyHeaderReader(inner);
    reader.readHeader(() => {});
    inner.read(V1);
    const direction = recorder();
    const seen: (Lender | null)[] = [];
    direction.deliver = (_c: Buffer, lender: Lender | null) => void seen.push(lender);
    reader.start(direction);
    const lender: Lender = { giveBack: () => {}, slackOf: () => 0 };
    inner.read(Buffer.from('x'), lender);
    expect(seen).to.deep.equal([lender]);
    expect(inner.target!.takesLeases).to.equal(true);
  });

  it('gives a lent chunk back at once while it is still reading the header (a tunnel stream earns its credit)', () => {
    const inner = new HandReader();
    const reader = new ProxyHeaderReader(inner);
    reader.readHeader(() => {});
    const back: boolean[] = [];
    inner.read(V1.subarray(0, 5), { giveBack: (_c, consumed) => back.push(consumed), slackOf: () => 0 });
    expect(back).to.deep.equal([true]);
  });

  it('an end right after the header is kept and passed on after the data', () => {
    const inner = new HandReader();
    const reader = new ProxyHeaderReader(inner);
    reader.readHeader(() => {});
    inner.read(Buffer.concat([V2, Buffer.from('bye')]));
    inner.target!.end();
    const direction = recorder();
    reader.start(direction);
    expect([Buffer.concat(direction.got).toString(), direction.ended]).to.deep.equal(['bye', true]);
  });

  it('garbage fails at once with a typed error; an end or the deadline before the header fails as incomplete', () => {
    const cases: [string, (inner: HandReader, reader: ProxyHeaderReader) => void, string][] = [
      ['garbage', (inner) => inner.read(Buffer.from('GET / HTTP/1.1\r\n')), 'ERR_PROXY_HEADER_INVALID'],
      ['end', (inner) => (inner.read(V1.subarray(0, 9)), inner.target!.end()), 'ERR_PROXY_HEADER_INCOMPLETE'],
      ['deadline', (inner, reader) => (inner.read(V2.subarray(0, 3)), reader.expire()), 'ERR_PROXY_HEADER_INCOMPLETE'],
    ];
    for (const [what, act, code] of cases) {
      const inner = new HandReader();
      const reader = new ProxyHeaderReader(inner);
      const outcomes: ProxyHeaderOutcome[] = [];
      reader.readHeader((o) => outcomes.push(o));
      act(inner, reader);
      reader.expire(); // a deadline after the outcome changes nothing
      expect(outcomes, what).to.have.length(1);
      expect((outcomes[0] as { error: { code: string } }).error.code, what).to.equal(code);
    }
  });

  it('stop() stops the inner reader and forgets what was kept', () => {
    const inner = new HandReader();
    const reader = new ProxyHeaderReader(inner);
    reader.readHeader(() => {});
    inner.read(Buffer.concat([V1, Buffer.from('kept')]));
    reader.stop();
    const direction = recorder();
    reader.start(direction);
    expect([inner.stopped, direction.got.length]).to.deep.equal([true, 0]);
  });
});
