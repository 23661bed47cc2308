import { expect } from 'chai';
import type { Duplex } from 'node:stream';
import sinon from 'sinon';
import { ConnectionToxics, checkToxicsFit, toxicsThatFit } from '../../../proxy/relay/connection-toxics.js';
import { Relay } from '../../../proxy/relay/relay.js';
import { parseToxicSpec, ToxicSpecError, type LimitDataStage, type ToxicSpec } from '../../../proxy/stages/toxics/index.js';
import { duplexPair } from '../../helpers/duplex-pair.js';
import { advance, scripted, TOXIC_FAKES } from '../../helpers/toxics.js';

const toxic = (input: Record<string, unknown>): ToxicSpec => parseToxicSpec(input);

describe('ConnectionToxics: a proxy\'s toxic list on one relay', () => {
  let clock: sinon.SinonFakeTimers;
  let ends: Duplex[];
  let relay: Relay;
  let client: Duplex;
  let target: Duplex;

  beforeEach(() => {
    clock = sinon.useFakeTimers(TOXIC_FAKES);
    const [c, relayClient] = duplexPair();
    const [relayTarget, t] = duplexPair();
    [client, target] = [c, t];
    ends = [c, relayClient, relayTarget, t];
    relay = new Relay(relayClient, relayTarget, { now: () => clock.now });
  });
  afterEach(() => {
    for (const end of ends) end.destroy();
    clock.restore();
  });

  const kinds = (stages: readonly unknown[]) => stages.map((s) => (s as object).constructor.name);

  it('puts each toxic on its stream, in the order added (first added nearest the source)', () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    toxics.apply([
      toxic({ name: 'a', type: 'latency', stream: 'upstream', attributes: { latency: 5 } }),
      toxic({ name: 'b', type: 'bandwidth', stream: 'downstream', attributes: { rate: 5 } }),
      toxic({ name: 'c', type: 'slicer', stream: 'upstream' }),
    ]);
    expect(kinds(relay.clientToTarget.stageList)).to.deep.equal(['LatencyStage', 'SlicerStage']);
    expect(kinds(relay.targetToClient.stageList)).to.deep.equal(['BandwidthStage']);
  });

  it('an update replaces the stage in place; an unchanged toxic keeps its stage; a removed one goes', () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const a = toxic({ name: 'a', type: 'latency', stream: 'upstream', attributes: { latency: 5 } });
    const b = toxic({ name: 'b', type: 'bandwidth', stream: 'upstream', attributes: { rate: 5 } });
    const c = toxic({ name: 'c', type: 'slicer', stream: 'upstream' });
    toxics.apply([a, b, c]);
    const [, bStage] = relay.clientToTarget.stageList;
    toxics.apply([{ ...a, attributes: { latency: 50, jitter: 0 } }, b, c]);
    const stages = relay.clientToTarget.stageList;
    expect(kinds(stages)).to.deep.equal(['LatencyStage', 'BandwidthStage', 'SlicerStage']);
    expect(stages[1]).to.equal(bStage);
    toxics.apply([{ ...a, attributes: { latency: 50, jitter: 0 } }, c]);
    expect(kinds(relay.clientToTarget.stageList)).to.deep.equal(['LatencyStage', 'SlicerStage']);
  });

  it('an update of a toxic in the middle keeps it in the middle', () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const specs = ['a', 'b', 'c'].map((name) => toxic({ name, type: 'latency', stream: 'downstream', attributes: { latency: 1 } }));
    toxics.apply(specs);
    const before = [...relay.targetToClient.stageList];
    toxics.apply([specs[0]!, { ...specs[1]!, attributes: { latency: 2, jitter: 0 } }, specs[2]!]);
    const after = relay.targetToClient.stageList;
    expect([after[0] === before[0], after[1] === before[1], after[2] === before[2]]).to.deep.equal([true, false, true]);
  });

  it('toxicity: drawn once per toxic per connection (random() < toxicity applies it), and again on update', () => {
    // Draws: a gets 0.5 (< 0.6: on), b gets 0.5 (not < 0.4: off); then b is updated and draws 0.1 (on).
    const toxics = new ConnectionToxics(relay, scripted(0.5, 0.5, 0.1));
    const a = toxic({ name: 'a', type: 'latency', stream: 'upstream', toxicity: 0.6 });
    const b = toxic({ name: 'b', type: 'latency', stream: 'upstream', toxicity: 0.4 });
    toxics.apply([a, b]);
    expect(relay.clientToTarget.stageList.length).to.equal(1);
    toxics.apply([a, { ...b, attributes: { latency: 3, jitter: 0 } }]);
    expect(relay.clientToTarget.stageList.length).to.equal(2);
  });

  it('toxicity 0 never applies (even when random() answers 0), 1 always does (even at 0.9999)', () => {
    const never = new ConnectionToxics(relay, () => 0);
    never.apply([toxic({ name: 'z', type: 'latency', toxicity: 0 })]);
    expect(relay.targetToClient.stageList.length).to.equal(0);
    const always = new ConnectionToxics(relay, () => 0.9999);
    always.apply([toxic({ name: 'o', type: 'latency', toxicity: 1 })]);
    expect(relay.targetToClient.stageList.length).to.equal(1);
  });

  it('a toxic drawn out and later updated is added where its place in the list says', () => {
    const toxics = new ConnectionToxics(relay, scripted(0, 0.9, 0, 0));
    const a = toxic({ name: 'a', type: 'latency', stream: 'upstream' });
    const b = toxic({ name: 'b', type: 'bandwidth', stream: 'upstream', toxicity: 0.5, attributes: { rate: 1 } });
    const c = toxic({ name: 'c', type: 'slicer', stream: 'upstream' });
    toxics.apply([a, b, c]);
    expect(kinds(relay.clientToTarget.stageList)).to.deep.equal(['LatencyStage', 'SlicerStage']);
    toxics.apply([a, { ...b, attributes: { rate: 2 } }, c]);
    expect(kinds(relay.clientToTarget.stageList)).to.deep.equal(['LatencyStage', 'BandwidthStage', 'SlicerStage']);
  });

  it('noop and a bandwidth of 0 put no stage in', () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    toxics.apply([toxic({ name: 'n', type: 'noop' }), toxic({ name: 'b', type: 'bandwidth' })]);
    expect(relay.targetToClient.stageList.length).to.equal(0);
  });

  it('limit_data updated keeps its count', () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const limit = toxic({ name: 'l', type: 'limit_data', stream: 'upstream', attributes: { bytes: 100 } });
    toxics.apply([limit]);
    (relay.clientToTarget.stageList[0] as LimitDataStage).sentBytes = 42;
    toxics.apply([{ ...limit, attributes: { bytes: 200 } }]);
    expect((relay.clientToTarget.stageList[0] as LimitDataStage).sentBytes).to.equal(42);
  });

  it('removal never loses a byte: what a latency toxic holds reaches the peer at once, in order', async () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const got: Buffer[] = [];
    target.on('data', (d: Buffer) => got.push(d));
    toxics.apply([toxic({ name: 'slow', type: 'latency', stream: 'upstream', attributes: { latency: 10_000 } })]);
    client.write('one,');
    client.write('two,');
    await advance(clock, 100);
    expect(got.length).to.equal(0);
    toxics.apply([]);
    client.write('three');
    await advance(clock, 0);
    expect(Buffer.concat(got).toString()).to.equal('one,two,three');
  });

  /** What the target end has received, as text, with `ended` once FIN came. */
  function atTarget() {
    const got = { text: '', ended: false };
    target.on('data', (d: Buffer) => (got.text += d.toString()));
    target.on('end', () => (got.ended = true));
    return got;
  }

  it('a latency update re-times what is in flight from when it arrived (toxiproxy), it does not let it all go at once', async () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const got = atTarget();
    const slow = toxic({ name: 'slow', type: 'latency', stream: 'upstream', attributes: { latency: 1000 } });
    toxics.apply([slow]);
    client.write('abc');
    await advance(clock, 100);
    toxics.apply([{ ...slow, attributes: { latency: 500, jitter: 0 } }]);
    await advance(clock, 399);
    expect(got.text).to.equal('');
    await advance(clock, 1);
    expect(got.text).to.equal('abc');
  });

  it('a bandwidth update goes on at the new rate with what it holds, it does not let it all go at once', async () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const got = atTarget();
    const thin = toxic({ name: 'thin', type: 'bandwidth', stream: 'upstream', attributes: { rate: 1 } });
    toxics.apply([thin]);
    client.write(Buffer.alloc(3000, 0x61));
    await advance(clock, 100);
    expect(got.text.length).to.equal(100);
    toxics.apply([{ ...thin, attributes: { rate: 2 } }]); // 2900 bytes left at 2 KB/s: 1450 ms
    await advance(clock, 1449);
    expect(got.text.length).to.be.below(3000);
    await advance(clock, 1);
    expect(got.text.length).to.equal(3000);
  });

  it('an update of a timeout toxic does not close the connection (toxiproxy cleans up on removal only); its clock starts again', async () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const got = atTarget();
    const cut = toxic({ name: 'cut', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    toxics.apply([cut]);
    await advance(clock, 100);
    toxics.apply([{ ...cut, attributes: { timeout: 500 } }]);
    await advance(clock, 499);
    expect(got.ended).to.equal(false);
    await advance(clock, 1);
    expect(got.ended).to.equal(true);
  });

  it('a timeout toxic drawn out by an update (toxicity) leaves without closing; removed for good, it closes', async () => {
    const toxics = new ConnectionToxics(relay, scripted(0.1, 0.9));
    const got = atTarget();
    const cut = toxic({ name: 'cut', type: 'timeout', stream: 'upstream', toxicity: 0.5 });
    toxics.apply([cut]);
    client.write('dropped');
    await advance(clock, 10);
    toxics.apply([{ ...cut, toxicity: 0.4 }]); // drawn 0.9: out
    client.write('through');
    await advance(clock, 10);
    expect([got.text, got.ended, relay.clientToTarget.stageList.length]).to.deep.equal(['through', false, 0]);
    const again = new ConnectionToxics(relay, () => 0);
    again.apply([cut]);
    again.apply([]);
    await advance(clock, 0);
    expect(got.ended).to.equal(true);
  });

  it('an update of slow_close while the FIN waits keeps it waiting, now by the new delay from when the end came', async () => {
    const toxics = new ConnectionToxics(relay, () => 0);
    const got = atTarget();
    const late = toxic({ name: 'late', type: 'slow_close', stream: 'upstream', attributes: { delay: 1000 } });
    toxics.apply([late]);
    client.end();
    await advance(clock, 100);
    toxics.apply([{ ...late, attributes: { delay: 300 } }]);
    await advance(clock, 199);
    expect(got.ended).to.equal(false);
    await advance(clock, 1);
    expect(got.ended).to.equal(true);
  });

  it('checkToxicsFit: drop needs message mode and the upstream stream', () => {
    const drop = toxic({ type: 'drop', stream: 'upstream', attributes: { probability: 0.1 } });
    expect(() => checkToxicsFit([drop], true)).to.not.throw();
    expect(() => checkToxicsFit([drop], false)).to.throw(ToxicSpecError, 'toxic drop_upstream: drop needs message mode (messages)');
    expect(() => checkToxicsFit([{ ...drop, stream: 'downstream' }], true)).to.throw(ToxicSpecError, /drop works on the upstream stream/);
  });

  it('toxicsThatFit leaves out what a relay cannot carry, keeps the rest in order', () => {
    const drop = toxic({ type: 'drop', stream: 'upstream' });
    const a = toxic({ name: 'a', type: 'latency' });
    const b = toxic({ name: 'b', type: 'timeout' });
    expect(toxicsThatFit([a, drop, b], false)).to.deep.equal([a, b]);
    expect(toxicsThatFit([a, drop, b], true)).to.deep.equal([a, drop, b]);
  });
});
