import { expect } from 'chai';
import fc from 'fast-check';
import { chooseLink, type LinkLoad } from '../../windowing/index.js';

const up = (streams: number): LinkLoad => ({ usable: true, streams });
const down = (streams = 0): LinkLoad => ({ usable: false, streams });

describe('chooseLink', () => {
  const cases: [string, LinkLoad[], number, number][] = [
    ['no links', [], 0, -1],
    ['none usable', [down(), down(3)], 0, -1],
    ['the only usable one', [down(), up(9), down()], 0, 1],
    ['the fewest streams', [up(3), up(1), up(2)], 0, 1],
    ['an unusable link never wins however empty', [down(0), up(5)], 0, 1],
    ['ties go to the first from startAt', [up(2), up(2), up(2)], 1, 1],
    ['ties wrap around', [up(2), up(2), up(2)], 5, 2],
    ['a negative start wraps too', [up(0), up(0)], -1, 1],
    ['fewest beats the round-robin start', [up(0), up(4), up(4)], 1, 0],
  ];
  for (const [title, links, startAt, expected] of cases) {
    it(`${title}: ${JSON.stringify(links.map((l) => (l.usable ? l.streams : 'x')))} from ${startAt} -> ${expected}`, () => {
      expect(chooseLink(links, startAt)).to.equal(expected);
    });
  }

  it('spreads streams evenly when each choice adds one (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 200 }), (n, streams) => {
        const links = Array.from({ length: n }, () => up(0));
        for (let i = 0; i < streams; i++) {
          const k = chooseLink(links, i);
          links[k] = up(links[k]!.streams + 1);
        }
        const counts = links.map((l) => l.streams);
        expect(Math.max(...counts) - Math.min(...counts)).to.be.at.most(1);
      }),
    );
  });
});
