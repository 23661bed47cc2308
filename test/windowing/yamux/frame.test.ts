import { expect } from 'chai';
import { describeFlags, describeFrame, describeGoAwayCode, hasFlag, Flag, FrameType, type FrameHeader } from '../../../windowing/index.js';

describe('frame', () => {
  const flagCases: [number, string][] = [
    [0, '-'],
    [Flag.SYN, 'SYN'],
    [Flag.ACK | Flag.FIN, 'ACK|FIN'],
    [15, 'SYN|ACK|FIN|RST'],
    [0x10, '0x10'],
    [0xffff, 'SYN|ACK|FIN|RST|0xfff0'],
  ];
  for (const [flags, text] of flagCases) {
    it(`describeFlags(${flags}) is ${text}`, () => expect(describeFlags(flags)).to.equal(text));
  }

  const h = (type: number, flags: number, streamId: number, length: number, version = 0): FrameHeader => ({
    version,
    type: type as FrameHeader['type'],
    flags,
    streamId,
    length,
  });
  const frameCases: [FrameHeader, string][] = [
    [h(FrameType.Data, Flag.SYN | Flag.FIN, 3, 5), 'DATA stream=3 flags=SYN|FIN length=5'],
    [h(FrameType.WindowUpdate, 0, 0xffffffff, 0), 'WINDOW_UPDATE stream=4294967295 flags=- delta=0'],
    [h(FrameType.Ping, Flag.ACK, 0, 7), 'PING stream=0 flags=ACK opaque=7'],
    [h(FrameType.GoAway, 0, 0, 1), 'GO_AWAY stream=0 flags=- code=1 (protocol error)'],
    [h(FrameType.GoAway, 0, 0, 9), 'GO_AWAY stream=0 flags=- code=9 (unknown)'],
    [h(7, 0, 1, 2, 3), 'TYPE_7 version=3 stream=1 flags=- length=2'],
  ];
  for (const [header, text] of frameCases) {
    it(`describeFrame gives "${text}"`, () => expect(describeFrame(header)).to.equal(text));
  }

  it('names go-away codes', () => {
    expect([0, 1, 2].map(describeGoAwayCode)).to.deep.equal(['0 (normal)', '1 (protocol error)', '2 (internal error)']);
  });

  it('hasFlag needs the bit set', () => {
    expect(hasFlag(Flag.SYN | Flag.FIN, Flag.FIN)).to.equal(true);
    expect(hasFlag(Flag.SYN, Flag.ACK)).to.equal(false);
  });
});
