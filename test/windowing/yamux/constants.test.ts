import { expect } from 'chai';
import * as w from '../../../windowing/index.js';

describe('constants', () => {
  const pinned: [string, unknown, unknown][] = [
    ['PROTOCOL_VERSION', w.PROTOCOL_VERSION, 0],
    ['VERSION_BYTES', w.VERSION_BYTES, 1],
    ['TYPE_BYTES', w.TYPE_BYTES, 1],
    ['FLAGS_BYTES', w.FLAGS_BYTES, 2],
    ['STREAM_ID_BYTES', w.STREAM_ID_BYTES, 4],
    ['LENGTH_BYTES', w.LENGTH_BYTES, 4],
    ['HEADER_BYTES', w.HEADER_BYTES, 12],
    ['HeaderOffset', w.HeaderOffset, { version: 0, type: 1, flags: 2, streamId: 4, length: 8 }],
    ['FrameType', w.FrameType, { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 }],
    ['Flag', w.Flag, { SYN: 1, ACK: 2, FIN: 4, RST: 8 }],
    ['GoAwayCode', w.GoAwayCode, { Normal: 0, ProtocolError: 1, InternalError: 2 }],
    ['SESSION_STREAM_ID', w.SESSION_STREAM_ID, 0],
    ['FIRST_DIALER_STREAM_ID', w.FIRST_DIALER_STREAM_ID, 1],
    ['FIRST_ACCEPTOR_STREAM_ID', w.FIRST_ACCEPTOR_STREAM_ID, 2],
    ['UINT32_MAX', w.UINT32_MAX, 2 ** 32 - 1],
    ['UINT16_MAX', w.UINT16_MAX, 65535],
    ['UINT8_MAX', w.UINT8_MAX, 255],
    ['INITIAL_STREAM_WINDOW_BYTES', w.INITIAL_STREAM_WINDOW_BYTES, 262144],
    ['DEFAULT_MAX_STREAM_WINDOW_BYTES', w.DEFAULT_MAX_STREAM_WINDOW_BYTES, 16777216],
    ['DEFAULT_MAX_FRAME_BYTES', w.DEFAULT_MAX_FRAME_BYTES, 16777216],
    ['DEFAULT_MAX_SEND_FRAME_BYTES', w.DEFAULT_MAX_SEND_FRAME_BYTES, 65536],
    ['DEFAULT_MIN_SEND_FRAME_BYTES', w.DEFAULT_MIN_SEND_FRAME_BYTES, 1024],
    ['DEFAULT_MAX_STREAMS', w.DEFAULT_MAX_STREAMS, 1000],
    ['DEFAULT_ACCEPT_BACKLOG', w.DEFAULT_ACCEPT_BACKLOG, 256],
    ['DEFAULT_MAX_QUEUED_CONTROL_REPLIES', w.DEFAULT_MAX_QUEUED_CONTROL_REPLIES, 1000],
    ['DEFAULT_MAX_OUTSTANDING_PINGS', w.DEFAULT_MAX_OUTSTANDING_PINGS, 10],
    ['DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES', w.DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES, 1],
    ['DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME', w.DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME, 10],
    ['DEFAULT_RESET_BURST', w.DEFAULT_RESET_BURST, 1000],
    ['DEFAULT_RESETS_PER_SECOND', w.DEFAULT_RESETS_PER_SECOND, 33],
    ['MAX_SKIPPED_PEER_IDS', w.MAX_SKIPPED_PEER_IDS, 256],
  ];
  for (const [name, actual, expected] of pinned) {
    it(`${name} is ${JSON.stringify(expected)}`, () => {
      expect(actual).to.deep.equal(expected);
    });
  }

  it('lays the header fields end to end in spec order', () => {
    const o = w.HeaderOffset;
    expect([o.type - o.version, o.flags - o.type, o.streamId - o.flags, o.length - o.streamId, w.HEADER_BYTES - o.length]).to.deep.equal([1, 1, 2, 4, 4]);
  });

  it('gives every flag its own bit', () => {
    const bits = Object.values(w.Flag);
    expect(bits.reduce((a, b) => a | b, 0)).to.equal(15);
    for (const bit of bits) expect(bit & (bit - 1)).to.equal(0);
  });
});
