import { expect } from 'chai';
import * as library from '../../../proxy/index.js';
import { BACKOFF_DEFAULTS } from '../../../windowing/backoff.js';

/** Every object reachable from `value` is frozen. */
function frozenThrough(value: unknown, path: string, out: string[] = []): string[] {
  if (typeof value !== 'object' || value === null) return out;
  if (!Object.isFrozen(value)) out.push(path);
  for (const [key, inner] of Object.entries(value)) frozenThrough(inner, `${path}.${key}`, out);
  return out;
}

describe('exported defaults are frozen', () => {
  // Every *_DEFAULTS the library exports, found by name so a new one is covered too.
  const exported = Object.entries(library).filter(([name]) => name.endsWith('_DEFAULTS'));

  it('the library exports the defaults this test expects to find', () => {
    expect(exported.map(([name]) => name)).to.include.members(['CONNECTION_DEFAULTS', 'RELAY_DEFAULTS', 'TUNNEL_DEFAULTS', 'TUNNEL_SESSION_DEFAULTS', 'TUNNEL_CLIENT_DEFAULTS', 'MANAGEMENT_DEFAULTS']);
  });

  for (const [name, value] of [...exported, ['BACKOFF_DEFAULTS', BACKOFF_DEFAULTS] as const]) {
    it(`${name}: frozen all the way down, an assignment throws (these modules are strict) and changes nothing`, () => {
      expect(frozenThrough(value, name)).to.deep.equal([]);
      const defaults = value as Record<string, unknown>;
      const [key, before] = Object.entries(defaults)[0]!;
      expect(() => (defaults[key] = 200)).to.throw(TypeError);
      expect(defaults[key]).to.equal(before);
    });
  }

});
