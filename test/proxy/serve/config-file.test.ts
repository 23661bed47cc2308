import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAddress } from '../../../proxy/net/address.js';
import { ConfigFileError, listensOverlap, loadConfigFile, MAX_CONFIG_BYTES, parseConfig } from '../../../proxy/serve/config-file.js';
import { ProxyConfigError } from '../../../proxy/serve/proxy-config.js';

async function loadError(path: string): Promise<ConfigFileError> {
  return loadConfigFile(path).then(
    () => expect.fail('loaded'),
    (err: unknown) => {
      expect(err).to.be.instanceOf(ConfigFileError);
      return err as ConfigFileError;
    },
  );
}

describe('sluice serve: the config file', () => {
  let dir: string;
  const fifos: string[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sluice-config-file-'))));
  afterEach(() => {
    // Should a read be stuck on a FIFO, a writer coming and going ends it (with EOF), so the run can exit.
    for (const fifo of fifos.splice(0)) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader waiting: nothing to release
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const proxies = '{"proxies": [{"name": "p", "upstream": "127.0.0.1:1"}]}';

  describe('what is read', () => {
    it('a FIFO is refused at once, naming the file (its open would wait for a writer, holding the reload queue)', async () => {
      const fifo = join(dir, 'sluice.json');
      execFileSync('mkfifo', [fifo]);
      fifos.push(fifo);
      expect((await loadError(fifo)).message).to.equal(`${fifo}: not a regular file (a FIFO)`);
    });

    it('a device and a directory are refused, naming the file and what it is', async () => {
      expect((await loadError('/dev/null')).message).to.equal('/dev/null: not a regular file (a character device)');
      expect((await loadError(dir)).message).to.equal(`${dir}: not a regular file (a directory)`);
    });

    it('a file far above the cap is refused by its size, before it is read (a 3 GiB sparse file)', async () => {
      const path = join(dir, 'huge.json');
      writeFileSync(path, '');
      truncateSync(path, 3 * 1024 * 1024 * 1024);
      expect((await loadError(path)).message).to.equal(`${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    });

    it(`exactly ${MAX_CONFIG_BYTES} bytes is read; one byte more is refused`, async () => {
      const path = join(dir, 'edge.json');
      writeFileSync(path, proxies.padEnd(MAX_CONFIG_BYTES, ' '));
      expect((await loadConfigFile(path)).map((s) => s.name)).to.deep.equal(['p']);
      writeFileSync(path, proxies.padEnd(MAX_CONFIG_BYTES + 1, ' '));
      expect((await loadError(path)).message).to.equal(`${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    });

    it('a missing file: cannot read it, with the code', async () => {
      const path = join(dir, 'missing.json');
      expect((await loadError(path)).message).to.equal(`${path}: cannot read it (ENOENT)`);
    });
  });

  describe('one listen address, one proxy', () => {
    const entry = (name: string, listen: string) => ({ name, listen, upstream: '127.0.0.1:1' });

    it('a second proxy on an address already named is refused, naming that proxy, the key and the first one', () => {
      const err = (() => {
        try {
          parseConfig({ proxies: [entry('a', '127.0.0.1:7001'), entry('b', '127.0.0.1:7002'), entry('c', '127.0.0.1:7002')] });
        } catch (e) {
          return e;
        }
        return expect.fail('parsed');
      })();
      expect(err).to.be.instanceOf(ProxyConfigError);
      expect(err).to.deep.include({ proxy: 'c', key: 'listen' });
      expect((err as Error).message).to.equal('proxy c: listen: 127.0.0.1:7002 is where proxy b listens');
      expect(() => parseConfig({ proxies: [entry('b', 'localhost:7002'), entry('c', '127.0.0.1:7002')] })).to.throw(ProxyConfigError, 'proxy c: listen: 127.0.0.1:7002 is where proxy b listens (localhost:7002)');
    });

    const cases: Array<[string, string, boolean]> = [
      ['127.0.0.1:7000', '127.0.0.1:7000', true],
      ['127.0.0.1:7000', 'localhost:7000', true],
      ['LOCALHOST:7000', '[::1]:7000', true],
      ['0.0.0.0:7000', '127.0.0.1:7000', true],
      ['[::]:7000', '10.0.0.1:7000', true],
      ['[::1]:7000', '[0:0:0:0:0:0:0:1]:7000', true],
      ['[::ffff:127.0.0.1]:7000', '127.0.0.1:7000', true],
      ['unix:/tmp/a.sock', 'unix:/tmp/../tmp/a.sock', true],
      ['127.0.0.1:0', '127.0.0.1:0', false],
      ['127.0.0.1:7000', '127.0.0.1:7001', false],
      ['127.0.0.1:7000', '127.0.0.2:7000', false],
      ['[::1]:7000', '127.0.0.1:7000', false],
      ['unix:/tmp/a.sock', '127.0.0.1:7000', false],
      ['example.com:7000', 'example.org:7000', false],
    ];
    for (const [a, b, overlap] of cases) {
      it(`${a} and ${b}: ${overlap ? 'the same socket' : 'two sockets'}`, () => {
        expect(listensOverlap(parseAddress(a), parseAddress(b))).to.equal(overlap);
        expect(listensOverlap(parseAddress(b), parseAddress(a))).to.equal(overlap);
      });
    }
  });
});
