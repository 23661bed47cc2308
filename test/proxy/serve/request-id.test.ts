import { expect } from 'chai';
import { base32hex, newRequestId } from '../../../proxy/serve/request-id.js';

describe('request ids (toxiproxy X-Toxiproxy-Request-Id, rs/xid)', () => {
  it('base32hex encodes as RFC 4648 section 7 (lowercase, unpadded)', () => {
    // RFC 4648 section 10 test vectors for BASE32-HEX, lowercased and without padding.
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'co'],
      ['fo', 'cpng'],
      ['foo', 'cpnmu'],
      ['foob', 'cpnmuog'],
      ['fooba', 'cpnmuoj1'],
      ['foobar', 'cpnmuoj1e8'],
    ];
    for (const [input, expected] of vectors) expect(base32hex(Buffer.from(input)), input).to.equal(expected);
  });

  it('encodes 12 bytes as 20 characters the way xid does (its documented example id)', () => {
    // rs/xid README's example id, 9m4e2mr0ui3e8a215n4g, is these 12 bytes.
    expect(base32hex(Buffer.from('4d88e15b60f486e428412dc9', 'hex'))).to.equal('9m4e2mr0ui3e8a215n4g');
  });

  it('is 20 characters of [0-9a-v], starts with the time, and differs from one request to the next', () => {
    const at = Date.UTC(2025, 0, 1);
    const ids = Array.from({ length: 1000 }, () => newRequestId(at));
    for (const id of ids) expect(id).to.match(/^[0-9a-v]{20}$/);
    expect(new Set(ids).size).to.equal(1000);
    const seconds = Buffer.alloc(4);
    seconds.writeUInt32BE(at / 1000);
    expect(ids[0]!.slice(0, 6)).to.equal(base32hex(seconds).slice(0, 6));
  });
});
