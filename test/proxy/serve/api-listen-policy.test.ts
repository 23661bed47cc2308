import { expect } from 'chai';
import { parseAddress } from '../../../proxy/net/address.js';
import { UsageError } from '../../../proxy/options/parse.js';
import { apiListenRefusal, checkApiListen } from '../../../proxy/serve/api-listen-policy.js';

describe('--api listen policy (loopback unless --api-insecure)', () => {
  for (const text of ['127.0.0.1:8474', '127.0.0.2:0', 'localhost:8474', '[::1]:8474', 'unix:/tmp/sluice-api.sock']) {
    it(`allows ${text}`, () => {
      expect(apiListenRefusal(parseAddress(text), false)).to.equal(null);
      expect(() => checkApiListen(parseAddress(text), false)).not.to.throw();
    });
  }

  for (const text of ['0.0.0.0:8474', '[::]:8474', '192.168.1.10:8474', 'example.com:8474']) {
    it(`refuses ${text} in one line naming --api and --api-insecure, and allows it with --api-insecure`, () => {
      const refusal = apiListenRefusal(parseAddress(text), false);
      expect(refusal).to.be.a('string');
      expect(refusal).to.match(/^--api: refusing non-loopback /);
      expect(refusal).to.include(text);
      expect(refusal).to.include('--api-insecure');
      expect(refusal).not.to.include('\n');
      expect(apiListenRefusal(parseAddress(text), true)).to.equal(null);
      expect(() => checkApiListen(parseAddress(text), false)).to.throw(UsageError, refusal!);
      expect(() => checkApiListen(parseAddress(text), true)).not.to.throw();
    });
  }
});
