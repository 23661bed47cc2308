import { expect } from 'chai';
import { PrefixCheck, RecentSessions } from '../../../bench/soak/corruption.js';

/** Bytes 0, 1, 2, ... n-1 (mod 251, so no short period lines up with a power of two). */
function counting(n: number, from = 0): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));
}

describe('soak: corruption diagnostics', () => {
  it('PrefixCheck notes the first wrong byte across chunks, and a stream that runs past what was sent', () => {
    const sent = counting(100);
    const wrong = new PrefixCheck(sent);
    wrong.push(sent.subarray(0, 40));
    const second = Buffer.from(sent.subarray(40, 80));
    second[7] ^= 0xff;
    wrong.push(second);
    expect([wrong.ok, wrong.firstBad, wrong.received]).to.deep.equal([false, 47, 80]);
    expect(wrong.all().length).to.equal(80);

    const long = new PrefixCheck(sent);
    long.push(Buffer.concat([sent, Buffer.from([1])]));
    expect([long.ok, long.firstBad]).to.deep.equal([false, 100]);

    const right = new PrefixCheck(sent);
    right.push(sent.subarray(0, 60));
    right.push(sent.subarray(60));
    expect([right.ok, right.firstBad, right.received]).to.deep.equal([true, -1, 100]);
  });

  it("says which range is wrong and that its bytes are another session's, naming it", () => {
    const recent = new RecentSessions(10);
    const mine = recent.add({ route: 1000, mode: 'echo', client: 'ok', data: counting(200) });
    const other = recent.add({ route: 2000, mode: 'slow', client: 'client-reset', data: counting(300, 100) });
    other.localPort = 5555;
    const got = Buffer.from(mine.data);
    other.data.copy(got, 50, 120, 170); // 50 foreign bytes at 50..100, from the other's offset 120
    const text = recent.describe(mine.data, got, mine.id);
    expect(text).to.match(/^badBytes=50 ranges=\[50\.\.100\) len=50 ownAt=-1 /);
    expect(text).to.contain(`foreign=#${other.id}(route 2000 local 5555 slow/client-reset size 300)@120`);
  });

  it("finds a wrong range's bytes in the session's own data (repeated), and counts bytes past the end", () => {
    const recent = new RecentSessions(10);
    const mine = recent.add({ route: 1000, mode: 'echo', client: 'ok', data: counting(200) });
    const got = Buffer.concat([mine.data.subarray(0, 100), mine.data.subarray(20, 120)]);
    const text = recent.describe(mine.data, got, mine.id);
    expect(text).to.match(/^badBytes=100 ranges=\[100\.\.200\) len=100 ownAt=20$/);
    expect(recent.describe(mine.data, Buffer.concat([mine.data, Buffer.alloc(3)]), mine.id)).to.equal('badBytes=0 ranges=(none) extra=3 bytes past the end ownAt=-1');
  });

  it('keeps only the last sessions it has room for', () => {
    const recent = new RecentSessions(1);
    const first = recent.add({ route: 1, mode: 'echo', client: 'ok', data: counting(64, 7) });
    const mine = recent.add({ route: 1, mode: 'echo', client: 'ok', data: counting(64) });
    const got = Buffer.from(first.data);
    expect(recent.describe(mine.data, got, mine.id)).not.to.contain('foreign=');
  });
});
