/**
 * Version 1, the text line: `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or
 * `PROXY UNKNOWN[ anything]\r\n`, at most 107 bytes. Two entry points: an early check of a line
 * still missing its CRLF (so garbage is refused at the first byte that rules the line out, not
 * after 107 bytes or the deadline), and the full parse of a complete line.
 */
import { PROXY_V1_PREFIX, ProxyV1Protocol } from './constants.js';
import { ProxyHeaderInvalidError, ProxyHeaderInvalidReason } from './errors.js';
import type { ProxyHeader, ProxyIpEndpoint } from './header.js';
import { formatIPv4, formatIPv6, parseIPv4Text, parseIPv6Text } from './ip.js';

const TCP_TOKENS = [`${ProxyV1Protocol.Tcp4} `, `${ProxyV1Protocol.Tcp6} `];
/** Fields after the protocol token of a TCP line: source, destination, source port, destination port. */
const TCP_FIELDS = 4;
const IPV4_TEXT_CHARS = /^[0-9.]*$/;
const IPV6_TEXT_CHARS = /^[0-9A-Fa-f:.]*$/;
const PORT_CHARS = /^[0-9]*$/;
const PORT_TEXT = /^(?:0|[1-9][0-9]{0,4})$/;

function invalid(reason: ProxyHeaderInvalidReason, detail: string): ProxyHeaderInvalidError {
  return new ProxyHeaderInvalidError(reason, detail);
}

/**
 * Checks the part of a v1 line after `PROXY ` that has arrived so far, without its CRLF; returns
 * the error if no ending could make it valid, else null. Never refuses a prefix of a valid line.
 */
export function checkV1Partial(content: string): ProxyHeaderInvalidError | null {
  if (content.startsWith(ProxyV1Protocol.Unknown)) {
    const next = content[ProxyV1Protocol.Unknown.length];
    return next === undefined || next === ' ' ? null : invalid(ProxyHeaderInvalidReason.V1Protocol, `protocol token starting "${content.slice(0, 8)}"`);
  }
  const token = TCP_TOKENS.find((t) => content.startsWith(t));
  if (token === undefined) {
    const candidates = [...TCP_TOKENS, ProxyV1Protocol.Unknown];
    if (candidates.some((c) => c.startsWith(content))) return null;
    return invalid(ProxyHeaderInvalidReason.V1Protocol, `protocol token starting "${content.slice(0, 8)}"`);
  }
  const fields = content.slice(token.length).split(' ');
  if (fields.length > TCP_FIELDS) return invalid(ProxyHeaderInvalidReason.V1Syntax, `more than ${TCP_FIELDS} fields after ${token.trim()}`);
  const addressChars = token.startsWith(ProxyV1Protocol.Tcp4) ? IPV4_TEXT_CHARS : IPV6_TEXT_CHARS;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    // Every field but the last is finished by the space after it, so it cannot be empty.
    if (i < fields.length - 1 && field === '') return invalid(ProxyHeaderInvalidReason.V1Syntax, 'not exactly one space between fields');
    if (i < 2 && !addressChars.test(field)) return invalid(ProxyHeaderInvalidReason.V1Address, `address "${field}" is not ${token.trim()} text`);
    if (i >= 2 && !PORT_CHARS.test(field)) return invalid(ProxyHeaderInvalidReason.V1Port, `port "${field}" is not a decimal`);
  }
  return null;
}

function parseEndpoint(protocol: string, addressText: string, portText: string): ProxyIpEndpoint | ProxyHeaderInvalidError {
  let address: string;
  if (protocol === ProxyV1Protocol.Tcp4) {
    const bytes = parseIPv4Text(addressText);
    if (bytes === null) return invalid(ProxyHeaderInvalidReason.V1Address, `"${addressText}" is not an IPv4 address`);
    address = formatIPv4(bytes);
  } else {
    const bytes = parseIPv6Text(addressText);
    if (bytes === null) return invalid(ProxyHeaderInvalidReason.V1Address, `"${addressText}" is not an IPv6 address`);
    address = formatIPv6(bytes);
  }
  const port = PORT_TEXT.test(portText) ? Number(portText) : NaN;
  if (!(port <= 0xffff)) return invalid(ProxyHeaderInvalidReason.V1Port, `"${portText}" is not a port in 0..65535 without leading zeros`);
  return { address, port };
}

/**
 * Parses a complete v1 line: `line` holds exactly the header, `PROXY ` to CRLF, and the caller has
 * checked its length and that its only CR and LF are the final pair. Returns the header or the error.
 */
export function parseV1Line(line: Buffer): ProxyHeader | ProxyHeaderInvalidError {
  const content = line.toString('latin1', PROXY_V1_PREFIX.length, line.length - 2);
  const fields = content.split(' ');
  const protocol = fields[0]!;
  const details = { version: 1 as const, byteLength: line.length, tlvs: [] };
  // Spec: for UNKNOWN the receiver ignores everything up to the CRLF.
  if (protocol === ProxyV1Protocol.Unknown) return { kind: 'unknown', ...details };
  if (protocol !== ProxyV1Protocol.Tcp4 && protocol !== ProxyV1Protocol.Tcp6) {
    return invalid(ProxyHeaderInvalidReason.V1Protocol, `protocol "${protocol.slice(0, 8)}" is none of TCP4, TCP6, UNKNOWN`);
  }
  if (fields.length !== 1 + TCP_FIELDS || fields.some((f) => f === '')) {
    return invalid(ProxyHeaderInvalidReason.V1Syntax, `${protocol} needs ${TCP_FIELDS} fields, each after exactly one space`);
  }
  const source = parseEndpoint(protocol, fields[1]!, fields[3]!);
  if (source instanceof ProxyHeaderInvalidError) return source;
  const destination = parseEndpoint(protocol, fields[2]!, fields[4]!);
  if (destination instanceof ProxyHeaderInvalidError) return destination;
  return { kind: protocol === ProxyV1Protocol.Tcp4 ? 'tcp4' : 'tcp6', source, destination, ...details };
}
