/**
 * The frame header as a value, and the one formatter for it (logs and test titles alike).
 */
import { Flag, FrameType, GoAwayCode } from './constants.js';

/** A decoded or to-be-encoded frame header; `length` means what the type says it means. */
export interface FrameHeader {
  /** Protocol version, 0. */
  readonly version: number;
  /** Data, window update, ping or go away. */
  readonly type: FrameType;
  /** Bitwise OR of Flag values; unknown bits are carried but ignored. */
  readonly flags: number;
  /** Stream the frame addresses; 0 is the session. */
  readonly streamId: number;
  /** Payload size (data), window delta (window update), opaque value (ping) or error code (go away). */
  readonly length: number;
}

const TYPE_NAMES: Record<number, string> = {
  [FrameType.Data]: 'DATA',
  [FrameType.WindowUpdate]: 'WINDOW_UPDATE',
  [FrameType.Ping]: 'PING',
  [FrameType.GoAway]: 'GO_AWAY',
};

const FLAG_NAMES: [number, string][] = [
  [Flag.SYN, 'SYN'],
  [Flag.ACK, 'ACK'],
  [Flag.FIN, 'FIN'],
  [Flag.RST, 'RST'],
];

const GO_AWAY_NAMES: Record<number, string> = {
  [GoAwayCode.Normal]: 'normal',
  [GoAwayCode.ProtocolError]: 'protocol error',
  [GoAwayCode.InternalError]: 'internal error',
};

/** True when every bit of `flag` is set in `flags`. */
export function hasFlag(flags: number, flag: Flag): boolean {
  return (flags & flag) === flag;
}

/** Names the set flags, e.g. `SYN|FIN`; `-` for none; unknown bits in hex. */
export function describeFlags(flags: number): string {
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of FLAG_NAMES) {
    if ((flags & bit) !== 0) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length === 0 ? '-' : names.join('|');
}

/** Names a go-away code, e.g. `1 (protocol error)`. */
export function describeGoAwayCode(code: number): string {
  const name = GO_AWAY_NAMES[code];
  return name === undefined ? `${code} (unknown)` : `${code} (${name})`;
}

/** One line describing a header, e.g. `DATA stream=3 flags=SYN|FIN length=5`. */
export function describeFrame(header: FrameHeader): string {
  const type = TYPE_NAMES[header.type] ?? `TYPE_${header.type}`;
  const version = header.version === 0 ? '' : ` version=${header.version}`;
  const flags = `flags=${describeFlags(header.flags)}`;
  switch (header.type) {
    case FrameType.Data:
      return `${type}${version} stream=${header.streamId} ${flags} length=${header.length}`;
    case FrameType.WindowUpdate:
      return `${type}${version} stream=${header.streamId} ${flags} delta=${header.length}`;
    case FrameType.Ping:
      return `${type}${version} stream=${header.streamId} ${flags} opaque=${header.length}`;
    case FrameType.GoAway:
      return `${type}${version} stream=${header.streamId} ${flags} code=${describeGoAwayCode(header.length)}`;
    default:
      return `${type}${version} stream=${header.streamId} ${flags} length=${header.length}`;
  }
}
