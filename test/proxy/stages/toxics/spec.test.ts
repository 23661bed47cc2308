import { expect } from 'chai';
import fc from 'fast-check';
import { parseToxicSpec, toxicObjectFromFlag, TOXIC_SCHEMAS, TOXIC_TYPES, ToxicSpecError, updateToxicSpec } from '../../../../proxy/stages/toxics/index.js';

/** The ToxicSpecError `f` throws (fails the test when it throws nothing or something else). */
function specError(f: () => unknown): ToxicSpecError {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(ToxicSpecError);
    return err as ToxicSpecError;
  }
  throw new Error('expected a ToxicSpecError, got nothing');
}

describe('toxic specs (spec.ts)', () => {
  describe('parseToxicSpec', () => {
    it('fills what toxiproxy fills: stream downstream, toxicity 1, name <type>_<stream>, every attribute', () => {
      expect(parseToxicSpec({ type: 'latency' })).to.deep.equal({
        name: 'latency_downstream',
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: 0, jitter: 0 },
      });
      expect(parseToxicSpec({ type: 'bandwidth', stream: 'upstream', name: '', attributes: { rate: 100 } })).to.deep.equal({
        name: 'bandwidth_upstream',
        type: 'bandwidth',
        stream: 'upstream',
        toxicity: 1,
        attributes: { rate: 100 },
      });
    });

    it('the defaults of every type, by toxiproxy\'s attribute names', () => {
      const defaults = Object.fromEntries(TOXIC_TYPES.map((type) => [type, parseToxicSpec({ type }).attributes]));
      expect(defaults).to.deep.equal({
        noop: {},
        latency: { latency: 0, jitter: 0 },
        bandwidth: { rate: 0 },
        slow_close: { delay: 0 },
        timeout: { timeout: 0 },
        reset_peer: { timeout: 0 },
        // toxiproxy's zero average_size would recurse forever (its chunk() never gets below 0 bytes).
        slicer: { average_size: 1, size_variation: 0, delay: 0 },
        limit_data: { bytes: 0 },
        stall: { duration: 0 },
        window: { bytes: 16384 },
        drop: { probability: 0 },
      });
    });

    it('keeps the attributes given, ignores unknown ones (toxiproxy\'s JSON decoding does)', () => {
      const spec = parseToxicSpec({ name: 'slow', type: 'latency', stream: 'upstream', toxicity: 0.25, attributes: { latency: 100, jitter: 7, colour: 'red' } });
      expect(spec).to.deep.equal({ name: 'slow', type: 'latency', stream: 'upstream', toxicity: 0.25, attributes: { latency: 100, jitter: 7 } });
    });

    it('toxiproxy\'s messages for a bad stream and a bad type (clients compare them)', () => {
      const stream = specError(() => parseToxicSpec({ type: 'latency', stream: 'sideways' }));
      expect([stream.message, stream.kind]).to.deep.equal(['stream was invalid, can be either upstream or downstream', 'stream']);
      for (const type of ['walrus', undefined, 7, '', 'toString', '__proto__']) {
        const err = specError(() => parseToxicSpec({ type }));
        expect([err.message, err.kind], String(type)).to.deep.equal(['invalid toxic type', 'type']);
      }
    });

    it('a bad attribute is named, with what it must be, in one line', () => {
      const cases: [unknown, string][] = [
        [{ type: 'latency', attributes: { latency: -1 } }, 'attributes.latency must be a whole number >= 0 (milliseconds)'],
        [{ type: 'latency', attributes: { jitter: 1.5 } }, 'attributes.jitter must be a whole number >= 0 (milliseconds)'],
        [{ type: 'bandwidth', attributes: { rate: '100' } }, 'attributes.rate must be a whole number >= 0 (KB/s)'],
        [{ type: 'slicer', attributes: { delay: true } }, 'attributes.delay must be a whole number >= 0 (microseconds)'],
        [{ type: 'slicer', attributes: { average_size: 0 } }, 'attributes.average_size must be a whole number >= 1 (bytes)'],
        [{ type: 'slicer', attributes: { average_size: 10, size_variation: 10 } }, 'attributes.size_variation must be below attributes.average_size'],
        [{ type: 'limit_data', attributes: { bytes: Number.MAX_SAFE_INTEGER + 1 } }, 'attributes.bytes must be a whole number >= 0 (bytes)'],
        [{ type: 'drop', attributes: { probability: 1.5 } }, 'attributes.probability must be a number from 0 to 1'],
        [{ type: 'window', attributes: { bytes: 0 } }, 'attributes.bytes must be a whole number >= 1 (bytes)'],
        [{ type: 'latency', attributes: [] }, 'attributes must be a JSON object'],
        [{ type: 'latency', toxicity: 2 }, 'toxicity must be a number from 0 to 1'],
        [{ type: 'latency', toxicity: '1' }, 'toxicity must be a number from 0 to 1'],
        [{ type: 'latency', name: 5 }, 'name must be a string'],
        ['latency', 'a toxic must be a JSON object'],
      ];
      for (const [input, message] of cases) {
        const err = specError(() => parseToxicSpec(input));
        expect([err.message, err.kind], JSON.stringify(input)).to.deep.equal([message, 'body']);
        expect(err.message).to.not.include('\n');
      }
    });

    it('a null name, stream, toxicity or attribute is left as toxiproxy\'s JSON decoding leaves it: the default', () => {
      expect(parseToxicSpec({ type: 'slicer', name: null, stream: null, toxicity: null, attributes: { delay: null } })).to.deep.equal(parseToxicSpec({ type: 'slicer' }));
    });

    it('never throws anything but a ToxicSpecError, whatever it is given (property)', () => {
      const attributeValue = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.boolean(), fc.anything());
      const attributes = fc.dictionary(fc.oneof(fc.constantFrom(...Object.values(TOXIC_SCHEMAS).flat().map((s) => s.name)), fc.string()), attributeValue);
      const toxic = fc.record(
        {
          name: fc.oneof(fc.string(), fc.anything()),
          type: fc.oneof(fc.constantFrom(...TOXIC_TYPES), fc.string(), fc.anything()),
          stream: fc.oneof(fc.constantFrom('upstream', 'downstream'), fc.anything()),
          toxicity: fc.oneof(fc.double(), fc.anything()),
          attributes: fc.oneof(attributes, fc.anything()),
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(fc.oneof(toxic, fc.anything()), (input) => {
          let spec;
          try {
            spec = parseToxicSpec(input);
          } catch (err) {
            if (!(err instanceof ToxicSpecError)) throw err;
            return;
          }
          // What parses is whole: every attribute of its type, each a finite number.
          expect(Object.keys(spec.attributes)).to.deep.equal(TOXIC_SCHEMAS[spec.type]!.map((s) => s.name));
          expect(Object.values(spec.attributes).every(Number.isFinite)).to.equal(true);
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('updateToxicSpec', () => {
    const base = parseToxicSpec({ name: 'slow', type: 'latency', stream: 'upstream', toxicity: 0.5, attributes: { latency: 100, jitter: 10 } });

    it('sets the attributes and toxicity given, keeps the rest (toxiproxy decodes into the toxic it has)', () => {
      expect(updateToxicSpec(base, { attributes: { jitter: 3 } })).to.deep.equal({ ...base, attributes: { latency: 100, jitter: 3 } });
      expect(updateToxicSpec(base, { toxicity: 1 })).to.deep.equal({ ...base, toxicity: 1 });
      expect(updateToxicSpec(base, { toxicity: null, attributes: { latency: null } })).to.deep.equal(base);
      // name, type and stream are not the update's to change.
      expect(updateToxicSpec(base, { name: 'x', type: 'timeout', stream: 'downstream' })).to.deep.equal(base);
    });

    it('checks what it sets, naming the attribute', () => {
      expect(specError(() => updateToxicSpec(base, { attributes: { latency: -5 } })).message).to.equal('attributes.latency must be a whole number >= 0 (milliseconds)');
      expect(specError(() => updateToxicSpec(base, { toxicity: -0.1 })).message).to.equal('toxicity must be a number from 0 to 1');
    });

    it('never throws anything but a ToxicSpecError (property)', () => {
      fc.assert(
        fc.property(fc.constantFrom(...TOXIC_TYPES), fc.anything(), (type, input) => {
          try {
            updateToxicSpec(parseToxicSpec({ type }), input);
          } catch (err) {
            if (!(err instanceof ToxicSpecError)) throw err;
          }
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('toxicObjectFromFlag (--toxic TYPE[:STREAM][:KEY=VALUE,...])', () => {
    it('every form, then parsed like any other toxic', () => {
      const forms: [string, unknown][] = [
        ['latency', { type: 'latency', attributes: {} }],
        ['latency:upstream', { type: 'latency', stream: 'upstream', attributes: {} }],
        ['latency:latency=100,jitter=10', { type: 'latency', attributes: { latency: 100, jitter: 10 } }],
        ['latency:downstream:latency=100,jitter=10', { type: 'latency', stream: 'downstream', attributes: { latency: 100, jitter: 10 } }],
        ['bandwidth:upstream:rate=50,name=thin,toxicity=0.5', { type: 'bandwidth', stream: 'upstream', name: 'thin', toxicity: 0.5, attributes: { rate: 50 } }],
        ['timeout:upstream:', { type: 'timeout', stream: 'upstream', attributes: {} }],
      ];
      for (const [flag, object] of forms) expect(toxicObjectFromFlag(flag), flag).to.deep.equal(object);
      expect(parseToxicSpec(toxicObjectFromFlag('latency:downstream:latency=100,jitter=10'))).to.deep.equal({
        name: 'latency_downstream',
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: 100, jitter: 10 },
      });
    });

    it('a malformed flag is one line naming the part that is wrong', () => {
      expect(specError(() => toxicObjectFromFlag('latency:upstream:latency=1:x')).message).to.equal("'latency:upstream:latency=1:x' has more than TYPE:STREAM:ATTRIBUTES");
      expect(specError(() => toxicObjectFromFlag('latency:upstream:latency')).message).to.equal("'latency' is not KEY=VALUE");
      expect(specError(() => toxicObjectFromFlag('latency:=5')).message).to.equal("'=5' is not KEY=VALUE");
      expect(specError(() => parseToxicSpec(toxicObjectFromFlag('latency:latency=abc'))).message).to.equal('attributes.latency must be a whole number >= 0 (milliseconds)');
      expect(specError(() => parseToxicSpec(toxicObjectFromFlag('latency:latency='))).message).to.equal('attributes.latency must be a whole number >= 0 (milliseconds)');
      expect(specError(() => parseToxicSpec(toxicObjectFromFlag('latency:toxicity=most'))).message).to.equal('toxicity must be a number from 0 to 1');
      expect(specError(() => parseToxicSpec(toxicObjectFromFlag('latncy:latency=5'))).message).to.equal('invalid toxic type');
      expect(specError(() => parseToxicSpec(toxicObjectFromFlag('latency:sideways:latency=5'))).kind).to.equal('stream');
    });

    it('a misspelt attribute is refused, naming the ones the type has (on the command line a typo is not ignored)', () => {
      expect(specError(() => toxicObjectFromFlag('latency:downstream:latancy=100')).message).to.equal("latency has no attribute 'latancy' (it has latency, jitter)");
      expect(specError(() => toxicObjectFromFlag('noop:x=1')).message).to.equal("noop has no attribute 'x' (it has none)");
    });

    it('never throws anything but a ToxicSpecError, alone or parsed (property)', () => {
      const flag = fc.oneof(
        fc.string(),
        fc.tuple(fc.constantFrom(...TOXIC_TYPES, 'x'), fc.constantFrom('', ':upstream', ':downstream', ':up'), fc.array(fc.tuple(fc.constantFrom('latency', 'rate', 'bytes', 'name', 'toxicity', ''), fc.string({ maxLength: 6 })))).map(
          ([type, stream, pairs]) => `${type}${stream}:${pairs.map(([k, v]) => `${k}=${v}`).join(',')}`,
        ),
      );
      fc.assert(
        fc.property(flag, (text) => {
          try {
            parseToxicSpec(toxicObjectFromFlag(text));
          } catch (err) {
            if (!(err instanceof ToxicSpecError)) throw err;
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});
