// Differential fuzzing of the catalog's JSON parser (Iceberg REST request bodies keep 64-bit ids exact): for any text,
// parseJson accepts exactly what JSON.parse accepts and returns the same value, except that integers outside the
// safe range come back as exact bigints. Bounded; the seed is fixed and printed (ATOLL_FUZZ_SEED=<n>).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJson } from './json.js';

const seed = Number(process.env.ATOLL_FUZZ_SEED ?? 20261130);
process.stdout.write(`iceberg json fuzz seed ${seed} (replay: ATOLL_FUZZ_SEED=${seed})\n`);

/** Our value as JSON.parse would give it (Node 20's JSON.parse cannot show the source text of a number). */
function asJsonParse(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(asJsonParse);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asJsonParse(v)]));
  return value;
}

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    expect(e).toBeInstanceOf(SyntaxError);
    return { ok: false };
  }
}

describe('parseJson (fuzzed against JSON.parse)', () => {
  const bigIds = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
  const bodies = fc.oneof(
    fc.json(),
    fc.tuple(fc.json(), bigIds).map(([j, id]) => `{"snapshot-id": ${id}, "x": ${j}}`),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.tuple(fc.json(), fc.nat(), fc.string({ maxLength: 3 })).map(([j, at, s]) => j.slice(0, at % (j.length + 1)) + s + j.slice(at % (j.length + 1))),
  );
  it('keeps every 64-bit id exact', () => {
    fc.assert(
      fc.property(bigIds, (id) => {
        const got = (parseJson(`{"snapshot-id": ${id}}`) as Record<string, unknown>)['snapshot-id'];
        expect(typeof got === 'bigint' ? got : BigInt(got as number)).toBe(BigInt(id));
        expect(typeof got === 'bigint').toBe(!Number.isSafeInteger(Number(id)));
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('accepts and rejects what JSON.parse does, with the same values (exact 64-bit integers)', () => {
    fc.assert(
      fc.property(bodies, (text) => {
        const ours = outcome(() => parseJson(text));
        const theirs = outcome(() => JSON.parse(text));
        expect(ours.ok, text).toBe(theirs.ok);
        if (ours.ok && theirs.ok) expect(asJsonParse(ours.value), text).toEqual(theirs.value);
      }),
      { seed, numRuns: 3000, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
    );
  });
});
