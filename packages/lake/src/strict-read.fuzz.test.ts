// Property-based fuzzing of CSV reading (fast-check): any header written with RFC 4180 quoting parses back to its
// names; any CSV body of quoted text fields and integers reads back through the strict reader (DuckDB read_csv with
// the schema's columns) value for value (text trimmed, empty as NULL, as sanitize.ts documents), and a CSV that does not fit is refused with an error describeReadError turns
// into a line-and-cause message without the value. Bounded; the seed is fixed and printed (ATOLL_FUZZ_SEED=<n>).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from '@atoll/duck';
import { describeReadError, parseCsvHeader, readRelation, strictSelect, textSources } from './strict-read.js';

const seed = Number(process.env.ATOLL_FUZZ_SEED ?? 20261130);
const columns = [
  { name: 'user_id', type: 'string' as const, role: 'user_id' as const },
  { name: 'note', type: 'string' as const },
  { name: 'qty', type: 'long' as const },
];
let duck: Duck;
let dir: string;
let n = 0;

beforeAll(async () => {
  process.stdout.write(`csv fuzz seed ${seed} (replay: ATOLL_FUZZ_SEED=${seed})\n`);
  dir = mkdtempSync(join(tmpdir(), 'atoll-csv-fuzz-'));
  duck = await Duck.open({ threads: 1, memoryLimit: '256MB' });
});
afterAll(() => {
  duck?.close();
  rmSync(dir, { recursive: true, force: true });
});

const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
// Text without NUL (no CSV carries it) and, for the reader, without a bare CR (DuckDB reads one as a line end).
const text = fc.string({ unit: 'grapheme', maxLength: 24 }).filter((s) => !s.includes('\u0000') && !s.includes('\r'));

describe('CSV reading (fuzzed)', () => {
  it('parses any RFC 4180 header back to its names', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('\uFEFF'));
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean(), (names, bom, quoteAll) => {
        const line = (bom ? '\uFEFF' : '') + names.map((x) => (quoteAll || /[",]/.test(x) ? quote(x) : x)).join(',');
        expect(parseCsvHeader(line)).toEqual(names);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('reads quoted text (commas, quotes, newlines, any script) and integers back unchanged', async () => {
    const row = fc.record({ user_id: text.filter((s) => s !== ''), note: text, qty: fc.maxSafeInteger() });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 15 }), fc.constantFrom('\n', '\r\n'), async (rows, eol) => {
        const file = join(dir, `f${n++}.csv`);
        writeFileSync(file, ['user_id,note,qty', ...rows.map((r) => [quote(r.user_id), quote(r.note), String(r.qty)].join(','))].join(eol) + eol);
        const got = await duck.all<{ user_id: string; note: string | null; qty: string | number }>(strictSelect(readRelation(file, 'csv', columns, ['user_id', 'note', 'qty']), columns, textSources(columns)));
        // As documented in sanitize.ts: text is trimmed; an empty field is NULL.
        const asRead = (v: string) => (v === '' ? null : v.trim());
        expect(got.map((r) => ({ user_id: r.user_id, note: r.note, qty: Number(r.qty) })), JSON.stringify(got)).toEqual(rows.map((r) => ({ user_id: asRead(r.user_id), note: asRead(r.note), qty: r.qty })));
      }),
      { seed, numRuns: 60, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
    );
  });

  it('refuses malformed CSV with a line and a cause, never echoing the value', async () => {
    const secret = fc.string({ unit: 'grapheme', minLength: 6, maxLength: 12 }).filter((s) => /^[\p{L}]+$/u.test(s)).map((s) => `zz${s}`);
    const broken = fc.tuple(secret, fc.constantFrom('unterminated', 'extra', 'notanumber')).map(([s, how]) =>
      how === 'unterminated' ? `user_id,note,qty\nu1,"${s},1\n` : how === 'extra' ? `user_id,note,qty\nu1,${s},1,9\n` : `user_id,note,qty\nu1,x,${s}\n`,
    );
    await fc.assert(
      fc.asyncProperty(broken, async (body) => {
        const file = join(dir, `b${n++}.csv`);
        writeFileSync(file, body);
        const value = /zz\p{L}+/u.exec(body)![0];
        let message: string | null = null;
        try {
          await duck.all(strictSelect(readRelation(file, 'csv', columns, ['user_id', 'note', 'qty']), columns, textSources(columns)));
        } catch (e) {
          message = describeReadError((e as Error).message);
        }
        expect(message, body).not.toBeNull();
        expect(message).toMatch(/line \d+/);
        expect(message).not.toContain(value);
        expect(message).not.toContain(dir);
      }),
      { seed, numRuns: 30, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false },
    );
  });
});
