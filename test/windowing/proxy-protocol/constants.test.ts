import { expect } from 'chai';
import * as w from '../../../windowing/index.js';

describe('PROXY protocol constants', () => {
  const pinned: [string, unknown, unknown][] = [
    ['PROXY_V1_PREFIX', w.PROXY_V1_PREFIX, 'PROXY '],
    ['PROXY_V1_MAX_BYTES', w.PROXY_V1_MAX_BYTES, 107],
    ['PROXY_V1_CRLF', w.PROXY_V1_CRLF, '\r\n'],
    ['ProxyV1Protocol', w.ProxyV1Protocol, { Tcp4: 'TCP4', Tcp6: 'TCP6', Unknown: 'UNKNOWN' }],
    ['PROXY_V2_SIGNATURE', w.PROXY_V2_SIGNATURE, [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]],
    ['PROXY_V2_SIGNATURE_BYTES', w.PROXY_V2_SIGNATURE_BYTES, 12],
    ['PROXY_V2_VERSION_COMMAND_BYTES', w.PROXY_V2_VERSION_COMMAND_BYTES, 1],
    ['PROXY_V2_FAMILY_BYTES', w.PROXY_V2_FAMILY_BYTES, 1],
    ['PROXY_V2_LENGTH_BYTES', w.PROXY_V2_LENGTH_BYTES, 2],
    ['PROXY_V2_FIXED_BYTES', w.PROXY_V2_FIXED_BYTES, 16],
    ['ProxyV2Offset', w.ProxyV2Offset, { signature: 0, versionCommand: 12, family: 13, length: 14 }],
    ['PROXY_V2_VERSION', w.PROXY_V2_VERSION, 2],
    ['ProxyV2Command', w.ProxyV2Command, { Local: 0, Proxy: 1 }],
    ['ProxyV2Family', w.ProxyV2Family, { Unspec: 0x00, Tcp4: 0x11, Udp4: 0x12, Tcp6: 0x21, Udp6: 0x22, UnixStream: 0x31, UnixDatagram: 0x32 }],
    ['PROXY_V2_MAX_LENGTH', w.PROXY_V2_MAX_LENGTH, 65535],
    ['PROXY_V2_MAX_HEADER_BYTES', w.PROXY_V2_MAX_HEADER_BYTES, 65551],
    ['IPV4_ADDRESS_BYTES', w.IPV4_ADDRESS_BYTES, 4],
    ['IPV6_ADDRESS_BYTES', w.IPV6_ADDRESS_BYTES, 16],
    ['PORT_BYTES', w.PORT_BYTES, 2],
    ['UNIX_ADDRESS_BYTES', w.UNIX_ADDRESS_BYTES, 108],
    ['PROXY_V2_INET_BLOCK_BYTES', w.PROXY_V2_INET_BLOCK_BYTES, 12],
    ['PROXY_V2_INET6_BLOCK_BYTES', w.PROXY_V2_INET6_BLOCK_BYTES, 36],
    ['PROXY_V2_UNIX_BLOCK_BYTES', w.PROXY_V2_UNIX_BLOCK_BYTES, 216],
    ['PROXY_TLV_HEADER_BYTES', w.PROXY_TLV_HEADER_BYTES, 3],
    ['PROXY_TLV_MAX_VALUE_BYTES', w.PROXY_TLV_MAX_VALUE_BYTES, 65535],
    ['ProxyTlvType', w.ProxyTlvType, { Alpn: 0x01, Authority: 0x02, Crc32c: 0x03, Noop: 0x04, UniqueId: 0x05, Ssl: 0x20, Netns: 0x30 }],
    [
      'ProxySslSubtype',
      w.ProxySslSubtype,
      { Version: 0x21, CommonName: 0x22, Cipher: 0x23, SignatureAlgorithm: 0x24, KeyAlgorithm: 0x25, Group: 0x26, SignatureScheme: 0x27, ClientCertificate: 0x28 },
    ],
    ['ProxySslClient', w.ProxySslClient, { Ssl: 0x01, CertConnection: 0x02, CertSession: 0x04 }],
    ['PROXY_SSL_FIXED_BYTES', w.PROXY_SSL_FIXED_BYTES, 5],
    ['PROXY_CRC32C_BYTES', w.PROXY_CRC32C_BYTES, 4],
    ['PROXY_UNIQUE_ID_MAX_BYTES', w.PROXY_UNIQUE_ID_MAX_BYTES, 128],
    ['PROXY_TLV_CUSTOM_MIN', w.PROXY_TLV_CUSTOM_MIN, 0xe0],
    ['PROXY_TLV_CUSTOM_MAX', w.PROXY_TLV_CUSTOM_MAX, 0xef],
    ['PROXY_TLV_EXPERIMENT_MIN', w.PROXY_TLV_EXPERIMENT_MIN, 0xf0],
    ['PROXY_TLV_EXPERIMENT_MAX', w.PROXY_TLV_EXPERIMENT_MAX, 0xf7],
    ['PROXY_TLV_FUTURE_MIN', w.PROXY_TLV_FUTURE_MIN, 0xf8],
    ['DEFAULT_MAX_PROXY_HEADER_BYTES', w.DEFAULT_MAX_PROXY_HEADER_BYTES, 4096],
    ['MIN_MAX_PROXY_HEADER_BYTES', w.MIN_MAX_PROXY_HEADER_BYTES, 232],
    ['CRC32C_POLYNOMIAL', w.CRC32C_POLYNOMIAL, 0x82f63b78],
  ];
  for (const [name, actual, expected] of pinned) {
    it(`${name} is ${JSON.stringify(expected)}`, () => {
      expect(actual).to.deep.equal(expected);
    });
  }

  it('lays the v2 fixed fields end to end in spec order', () => {
    const o = w.ProxyV2Offset;
    expect([o.versionCommand - o.signature, o.family - o.versionCommand, o.length - o.family, w.PROXY_V2_FIXED_BYTES - o.length]).to.deep.equal([12, 1, 1, 2]);
  });

  it('PROXY_V1_MAX_BYTES is the length of the spec\'s worst-case line; its TCP4 and TCP6 maxima are 56 and 104', () => {
    const v6 = `${'ffff:'.repeat(7)}ffff`;
    expect(Buffer.byteLength('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n')).to.equal(56);
    expect(Buffer.byteLength(`PROXY TCP6 ${v6} ${v6} 65535 65535\r\n`)).to.equal(104);
    expect(Buffer.byteLength('PROXY UNKNOWN\r\n')).to.equal(15);
    expect(Buffer.byteLength(`PROXY UNKNOWN ${v6} ${v6} 65535 65535\r\n`)).to.equal(w.PROXY_V1_MAX_BYTES);
  });

  it('the signature holds a NUL and cannot be mistaken for "PROXY"', () => {
    expect(w.PROXY_V2_SIGNATURE.indexOf(0)).to.equal(4);
    expect(w.PROXY_V2_SIGNATURE[0]).to.not.equal(w.PROXY_V1_PREFIX.charCodeAt(0));
  });

  it('the default maximum lies within the configurable range', () => {
    expect(w.DEFAULT_MAX_PROXY_HEADER_BYTES).to.be.within(w.MIN_MAX_PROXY_HEADER_BYTES, w.PROXY_V2_MAX_HEADER_BYTES);
  });

  it('the signature cannot be changed at run time', () => {
    expect(Object.isFrozen(w.PROXY_V2_SIGNATURE)).to.equal(true);
  });
});
