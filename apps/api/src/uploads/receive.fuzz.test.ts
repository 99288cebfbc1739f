// Property-based fuzzing of the upload parsers (fast-check): valid records survive any chunking of the NDJSON body
// (splits inside a line, inside a multi-byte character, CRLF, blank lines) unchanged; arbitrary bytes, JSON values and
// records are refused with a catalog error (MALFORMED_NDJSON, MALFORMED_JSON, SCHEMA_VIOLATION, PAYLOAD_TOO_LARGE),
// never anything else. Bounded; the seed is fixed and printed (ATOLL_FUZZ_SEED=<n> to replay another).
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { receiveJsonArray, receiveNdjson, recordValidator } from './receive.js';

const seed = Number(process.env.ATOLL_FUZZ_SEED ?? 20261130);
const budget = { seed, numRuns: 300, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false } as const;
const columns = [
  { name: 'user_id', type: 'string', role: 'user_id' as const },
  { name: 'kind', type: 'string' },
  { name: 'value', type: 'long' },
  { name: 'score', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'timestamp' },
  { name: 'price', type: 'decimal(10,2)' },
];
const validate = recordValidator(columns);
const limits = { maxBytes: 64 * 1024, maxRecords: 200 };
const refusals = new Set(['MALFORMED_NDJSON', 'MALFORMED_JSON', 'SCHEMA_VIOLATION', 'PAYLOAD_TOO_LARGE']);
let dir: string;
let n = 0;
const spill = () => join(dir, `u${n++}.ndjson`);

beforeAll(() => {
  process.stdout.write(`upload parser fuzz seed ${seed} (replay: ATOLL_FUZZ_SEED=${seed})\n`);
  dir = mkdtempSync(join(tmpdir(), 'atoll-upload-fuzz-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const day = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true });
const record = fc.record(
  {
    user_id: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
    kind: fc.oneof(fc.string({ maxLength: 30, unit: 'binary' }), fc.constant(null)),
    value: fc.oneof(fc.maxSafeInteger(), fc.constant(null)),
    // JSON has no -0: it reads back as 0.
    score: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
    ok: fc.boolean(),
    day: day.map((d) => d.toISOString().slice(0, 10)),
    at: day.map((d) => d.toISOString()),
    price: fc.tuple(fc.integer({ min: -99_999_999, max: 99_999_999 }), fc.integer({ min: 0, max: 99 })).map(([i, f]) => `${i}.${String(f).padStart(2, '0')}`),
  },
  { requiredKeys: ['user_id'] },
);

/** The body cut at arbitrary byte offsets, so chunks end inside lines and inside multi-byte characters. */
function chunked(body: Buffer, cuts: number[]): Readable {
  const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    parts.push(body.subarray(from, c));
    from = c;
  }
  parts.push(body.subarray(from));
  return Readable.from(parts.filter((p) => p.length > 0));
}

async function refusedOrAccepted(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    expect(refusals.has((e as AtollError).code), (e as AtollError).code).toBe(true);
  }
}

describe('upload parsers (fuzzed)', () => {
  it('NDJSON: valid records come out unchanged whatever the chunking, line endings and blank lines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\n\n', '\n \n'), async (records, cuts, eol) => {
        const body = Buffer.from(records.map((r) => JSON.stringify(r)).join(eol) + (eol.length % 2 ? eol : ''), 'utf8');
        const got = await receiveNdjson(chunked(body, cuts), validate, limits, spill());
        expect(got.records).toBe(records.length);
        expect(got.bytes).toBe(body.length);
        const lines = (got.buffer ?? (await readFile(spill()))).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
        // Every column present, in schema order; an absent optional column is null.
        expect(lines).toEqual(records.map((r) => Object.fromEntries(columns.map((c) => [c.name, (r as Record<string, unknown>)[c.name] ?? null]))));
      }),
      budget,
    );
  });

  it('NDJSON: arbitrary bytes are accepted or refused with a catalog error', async () => {
    const lineish = fc.oneof(fc.json(), record.map((r) => JSON.stringify(r)), fc.string({ unit: 'binary' }));
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
      fc.array(lineish, { maxLength: 10 }).map((ls) => Buffer.from(ls.join('\n'), 'utf8')),
    );
    await fc.assert(fc.asyncProperty(bodies, fc.array(fc.nat(), { maxLength: 6 }), (body, cuts) => refusedOrAccepted(() => receiveNdjson(chunked(body, cuts), validate, limits, spill()))), budget);
  });

  it('JSON arrays: any JSON value is accepted or refused with a catalog error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.array(fc.oneof(record, fc.jsonValue()), { maxLength: 10 })), (value) => refusedOrAccepted(() => receiveJsonArray(value, validate, limits, spill(), 0))),
      budget,
    );
  });

  it('records: any object is a record with exactly the schema columns, or a SCHEMA_VIOLATION naming its line', () => {
    fc.assert(
      fc.property(fc.oneof(record, fc.dictionary(fc.constantFrom(...columns.map((c) => c.name), 'extra', '__proto__', 'constructor'), fc.jsonValue())), fc.integer({ min: 1, max: 1e6 }), (value, line) => {
        try {
          const out = validate(value, line);
          expect(Object.keys(out).sort()).toEqual(columns.map((c) => c.name).sort());
        } catch (e) {
          expect(e).toBeInstanceOf(AtollError);
          expect((e as AtollError).code).toBe('SCHEMA_VIOLATION');
          expect((e as AtollError).message).toContain(`line ${line}:`);
        }
      }),
      budget,
    );
  });
});
