import { expect } from 'chai';
import fc from 'fast-check';
import type { ControlApi } from '../../../proxy/serve/api-server.js';
import { call, json, startTestApi } from '../../helpers/control-api.js';
import { FakeControlTarget } from '../../helpers/fake-control-target.js';

/** Bodies a client might send by mistake: any JSON value, JSON-ish text, and text cut anywhere. */
const bodies = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify({ name: 'p', upstream: 'x:1', type: 'latency', attributes: v, toxicity: v, enabled: v, listen: v })),
  fc.jsonValue().map((v) => JSON.stringify([v, { name: v, upstream: v }])),
  fc.string(),
  fc.json().chain((text) => fc.nat(text.length).map((cut) => text.slice(0, cut))),
);

describe('control API request bodies (property: whatever the body, an answer in toxiproxy\'s shape, never a crash)', () => {
  let fleet: FakeControlTarget;
  let api: ControlApi;
  let port: number;

  // A fresh fleet per route, so what one route's bodies made cannot change what another finds.
  beforeEach(async () => {
    fleet = new FakeControlTarget();
    ({ api, port } = await startTestApi(fleet));
    await call(port, 'POST', '/proxies', json({ name: 'p', upstream: 'x:1' }));
    await call(port, 'POST', '/proxies/p/toxics', json({ name: 't', type: 'latency' }));
  });
  afterEach(() => api.close());

  const routes: [method: string, path: string][] = [
    ['POST', '/proxies'],
    ['POST', '/populate'],
    ['PATCH', '/proxies/p'],
    ['POST', '/proxies/p/toxics'],
    ['PATCH', '/proxies/p/toxics/t'],
  ];
  for (const [method, path] of routes) {
    it(`${method} ${path} (seed 14, 60 bodies)`, async () => {
      await fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          const reply = await call(port, method, path, { body });
          expect([200, 201, 400, 409], `${reply.status} ${reply.body}`).to.include(reply.status);
          const answer = reply.json as { error?: string; status?: number };
          expect(answer, reply.body).to.not.equal(undefined);
          if (reply.status >= 400) {
            expect(answer.status).to.equal(reply.status);
            expect(answer.error).to.be.a('string');
          }
        }),
        { seed: 14, numRuns: 60 },
      );
      // Still serving, and still steering the same fleet.
      expect((await call(port, 'GET', '/version')).status).to.equal(200);
    });
  }
});
