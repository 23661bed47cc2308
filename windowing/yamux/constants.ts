/**
 * Wire constants of the tunnel framing (yamux spec, version 0) and sluice's defaults around it.
 * Each value says whether the spec fixes it or it is our choice. test/windowing/yamux/constants.test.ts
 * pins every one of them, so a change here is always deliberate.
 */

/** Protocol version carried in every header (spec: always 0). */
export const PROTOCOL_VERSION = 0;

/** Size of the version field in bytes (spec). */
export const VERSION_BYTES = 1;
/** Size of the type field in bytes (spec). */
export const TYPE_BYTES = 1;
/** Size of the flags field in bytes (spec). */
export const FLAGS_BYTES = 2;
/** Size of the stream id field in bytes (spec). */
export const STREAM_ID_BYTES = 4;
/** Size of the length field in bytes (spec). */
export const LENGTH_BYTES = 4;
/** Size of a frame header: 12 bytes (spec), computed from its fields. */
export const HEADER_BYTES = VERSION_BYTES + TYPE_BYTES + FLAGS_BYTES + STREAM_ID_BYTES + LENGTH_BYTES;

/** Byte offset of each header field, big-endian (spec). */
export const HeaderOffset = {
  version: 0,
  type: VERSION_BYTES,
  flags: VERSION_BYTES + TYPE_BYTES,
  streamId: VERSION_BYTES + TYPE_BYTES + FLAGS_BYTES,
  length: VERSION_BYTES + TYPE_BYTES + FLAGS_BYTES + STREAM_ID_BYTES,
} as const;

/** Frame types (spec). The length field means: payload size, window delta, opaque value, error code. */
export const FrameType = {
  Data: 0,
  WindowUpdate: 1,
  Ping: 2,
  GoAway: 3,
} as const;
/** One of the four frame types. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Flag bits (spec): SYN opens, ACK accepts, FIN half-closes, RST resets; SYN/ACK also mark ping request/reply. */
export const Flag = {
  SYN: 1,
  ACK: 2,
  FIN: 4,
  RST: 8,
} as const;
/** One flag bit. */
export type Flag = (typeof Flag)[keyof typeof Flag];

/** Go-away error codes carried in the length field (spec). */
export const GoAwayCode = {
  Normal: 0,
  ProtocolError: 1,
  InternalError: 2,
} as const;
/** One of the go-away codes the spec defines. */
export type GoAwayCode = (typeof GoAwayCode)[keyof typeof GoAwayCode];

/** Stream id of the session itself: pings and go-aways travel on it, nothing else does (spec). */
export const SESSION_STREAM_ID = 0;
/** First stream id of the dialing side; it then uses odd ids (spec). */
export const FIRST_DIALER_STREAM_ID = 1;
/** First stream id of the accepting side; it then uses even ids (spec). */
export const FIRST_ACCEPTOR_STREAM_ID = 2;

/** Largest value of a u32 field; also the largest window a stream may ever have (spec: length is u32). */
export const UINT32_MAX = 0xffffffff;
/** Largest value of the u16 flags field (spec). */
export const UINT16_MAX = 0xffff;
/** Largest value of a u8 field (spec). */
export const UINT8_MAX = 0xff;

/** Window every stream starts with in both directions, before any update: 256 KiB (spec). */
export const INITIAL_STREAM_WINDOW_BYTES = 256 * 1024;

/** Our choice: auto-tuning may grow a stream's window up to 16 MiB (libp2p yamux's maximum). */
export const DEFAULT_MAX_STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
/**
 * Our choice: the decoder refuses data frames longer than this from the header alone. A data frame
 * can never be longer than a window, so it defaults to the largest window we grant.
 */
export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_MAX_STREAM_WINDOW_BYTES;
/** Our choice: outbound data is split into frames of at most 64 KiB so one stream cannot hog the link. */
export const DEFAULT_MAX_SEND_FRAME_BYTES = 64 * 1024;
/**
 * Our choice: when a write must be split because credit is short, wait for at least 1 KiB of credit
 * rather than emit tiny frames (data dribble, CVE-2019-9511).
 */
export const DEFAULT_MIN_SEND_FRAME_BYTES = 1024;
/** Our choice: at most 1000 live streams per session (libp2p yamux); it is part of the memory budget. */
export const DEFAULT_MAX_STREAMS = 1000;
/** Our choice: at most 256 streams opened but not yet acknowledged, in each direction (yamux). */
export const DEFAULT_ACCEPT_BACKLOG = 256;
/** Our choice: at most 1000 replies the peer forced (ping ACKs, refusals) queued unflushed (Envoy control frames). */
export const DEFAULT_MAX_QUEUED_CONTROL_REPLIES = 1000;
/** Our choice: at most 10 of our own pings awaiting a reply (Node http2 maxOutstandingPings). */
export const DEFAULT_MAX_OUTSTANDING_PINGS = 10;
/** Our choice: frames that carry nothing (no payload, no delta, no flag) allowed back to back (Envoy: 1). */
export const DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES = 1;
/** Our choice: window updates accepted per data frame we sent, Envoy's formula 5 + 2 * (streams + 10 * frames). */
export const DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME = 10;
/** Our choice: resets from the peer allowed in a burst (nghttp2 Rapid Reset defence: 1000). */
export const DEFAULT_RESET_BURST = 1000;
/** Our choice: resets from the peer allowed per second once the burst is spent (nghttp2: 33/s). */
export const DEFAULT_RESETS_PER_SECOND = 33;
/**
 * Our choice: how many peer stream ids skipped on the way up we remember, so their SYNs may still
 * arrive late. The yamux spec does not order SYNs and Go's yamux opens streams from many
 * goroutines, so stream 5's SYN can overtake stream 3's; the most recent gaps are kept.
 */
export const MAX_SKIPPED_PEER_IDS = 256;
