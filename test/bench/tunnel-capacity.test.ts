import { expect } from 'chai';
import { tunnelConnectionLimit } from '../../bench/subjects/tunnel-capacity.js';

describe('bench: the tunnel subject\'s connection limit', () => {
  it('is one link times the default --max-streams when none is given', () => {
    expect(tunnelConnectionLimit(['--window', '1MiB'])).to.deep.equal({ count: 1000, why: '1 link x --max-streams 1000, the default' });
  });

  it('follows --max-streams in either form, the last one winning as in the CLI', () => {
    expect(tunnelConnectionLimit(['--max-streams', '10000'])).to.deep.equal({ count: 10000, why: '1 link x --max-streams 10000' });
    expect(tunnelConnectionLimit(['--max-streams=5', '--quiet', '--max-streams', '7']).count).to.equal(7);
  });
});
