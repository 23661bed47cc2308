import { expect } from 'chai';
import { CidrList } from '../../../proxy/net/cidr.js';

describe('CidrList (--accept-proxy-from)', () => {
  const list = new CidrList('10.0.0.0/8, 192.168.1.7,2001:db8::/32,unix');
  for (const [address, allowed] of [
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.9.9.9', true], // an IPv4 client on a dual-stack listener
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    [undefined, true], // a unix socket
    ['not an address', false],
  ] as const) {
    it(`${String(address)} is ${allowed ? '' : 'not '}allowed`, () => {
      expect(list.allows(address)).to.equal(allowed);
    });
  }

  it('a list without unix refuses unix sockets; /0 allows every address of its family', () => {
    const any4 = new CidrList('0.0.0.0/0');
    expect([any4.allows(undefined), any4.allows('203.0.113.9'), any4.allows('2001:db8::1')]).to.deep.equal([false, true, false]);
  });

  for (const bad of ['', '10.0.0.0/33', '::1/129', '10.0.0.0/x', 'example.com', '10.0.0.0/8,,::1', '1.2.3.4/-1']) {
    it(`rejects "${bad}" with a message naming the entry`, () => {
      expect(() => new CidrList(bad)).to.throw(RangeError);
    });
  }
});
