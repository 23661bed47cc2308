import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError, loadConfigFile, MAX_CONFIG_BYTES } from '../../../proxy/serve/config-file.js';

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

});
