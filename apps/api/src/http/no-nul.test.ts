// findNul against JSON's own view of the value (fast-check): it finds U+0000 exactly when the serialised JSON holds one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findNul } from './no-nul.js';

const seed = Number(process.env.ATOLL_FUZZ_SEED ?? 20261130);

describe('findNul', () => {
  it('reports a NUL in any string or key of any JSON value, and only then', () => {
    const withNul = fc.string({ unit: 'binary', maxLength: 8 }).map((s) => (s.length % 3 === 0 ? `${s}\u0000` : s));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, withNul, fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(withNul, tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        expect(findNul(v) !== null).toBe(JSON.stringify(v).includes('\\u0000'));
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('names where the NUL is', () => {
    expect(findNul({ a: [1, { b: 'x\u0000' }] })).toBe('/a/1/b');
    expect(findNul('\u0000')).toBe('/');
    expect(findNul({ ['k\u0000']: 1 })).toBe('/k\\u0000');
    expect(findNul({ a: 'fine' })).toBeNull();
  });
});
