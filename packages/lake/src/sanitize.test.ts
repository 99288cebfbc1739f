import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck, literal } from '@atoll/duck';
import type { SchemaColumn } from './columns.js';
import { formatProblem, sanitizeColumn, strictValue } from './sanitize.js';

let duck: Duck;
beforeAll(async () => {
  duck = await Duck.open({ threads: 1, memoryLimit: '64MB' });
  await duck.run(`SET TimeZone = 'UTC'`);
});
afterAll(() => duck.close());

/** The sanitized value of one text as DuckDB renders it, or 'BAD' when it cannot be sanitized. */
async function clean(type: SchemaColumn['type'], text: string | null, format?: string): Promise<string | null> {
  const c: SchemaColumn = { name: 'v', type, ...(format ? { format } : {}) };
  const { value, bad } = sanitizeColumn(c, 'v', 'VARCHAR');
  const row = (await duck.all<{ value: unknown; bad: boolean | null }>(
    `SELECT CAST(${value} AS VARCHAR) AS value, ${bad ?? 'false'} AS bad FROM (SELECT CAST(${text === null ? 'NULL' : literal(text)} AS VARCHAR) AS v)`,
  ))[0]!;
  return row.bad ? 'BAD' : (row.value as string | null);
}

describe('sanitizing staged values', () => {
  it('reads every timestamp form providers send as UTC, to the microsecond', async () => {
    expect(await clean('timestamp', '2026-01-02T03:04:05Z')).toBe('2026-01-02 03:04:05');
    expect(await clean('timestamp', '2026-01-02T03:04:05.123456+02:00')).toBe('2026-01-02 01:04:05.123456');
    expect(await clean('timestamp', '2026-01-02T03:04:05-0530')).toBe('2026-01-02 08:34:05');
    expect(await clean('timestamp', '2026-01-02T03:04:05')).toBe('2026-01-02 03:04:05');
    expect(await clean('timestamp', ' 2026-01-02 03:04:05 ')).toBe('2026-01-02 03:04:05');
    expect(await clean('timestamp', '2026-01-02')).toBe('2026-01-02 00:00:00');
    expect(await clean('timestamp', '1767323045')).toBe('2026-01-02 03:04:05');
    expect(await clean('timestamp', '1767323045.25')).toBe('2026-01-02 03:04:05.25');
    expect(await clean('timestamp', '1767323045123')).toBe('2026-01-02 03:04:05.123');
    expect(await clean('timestamp', '1767323045123456')).toBe('2026-01-02 03:04:05.123456');
    expect(await clean('timestamp', '-86400')).toBe('1969-12-31 00:00:00');
  });

  it('ignores surrounding whitespace around every timestamp form (DuckDB\'s casts refuse some trailing whitespace)', async () => {
    expect(await clean('timestamp', ' 2026-01-02 ')).toBe('2026-01-02 00:00:00');
    expect(await clean('timestamp', '2026-01-02   ')).toBe('2026-01-02 00:00:00');
    expect(await clean('timestamp', ' 2026-01-02T03:04:05+02:00 ')).toBe('2026-01-02 01:04:05');
    expect(await clean('timestamp', ' 2026-01-02 03:04:05 America/New_York ')).toBe('2026-01-02 08:04:05');
    expect(await clean('timestamp', ' 1767323045 ')).toBe('2026-01-02 03:04:05');
    for (const bad of [' yesterday ', ' 2026-13-01 ', '  ']) expect(await clean('timestamp', bad), bad).toBe(bad.trim() === '' ? null : 'BAD');
  });

  it('reads zone-less values as UTC even after a value with a named zone in the same batch', async () => {
    // DuckDB's TIMESTAMPTZ cast carries a named zone over to the zone-less values after it in one vector.
    const c: SchemaColumn = { name: 'v', type: 'timestamp' };
    const texts = ['2026-01-01T10:00', '2026-01-01T10:00:00 America/New_York', '2026-01-01T10:00', '2026-01-01 10:00:00', '2026-01-01', '2026-01-01T10:00:00+01:00', '2026-01-01T10:00:00Z'];
    const rows = await duck.all<{ value: string }>(`SELECT CAST(${strictValue(c, 'v', 'VARCHAR')} AS VARCHAR) AS value FROM unnest([${texts.map(literal).join(', ')}]) WITH ORDINALITY AS u(v, i) ORDER BY i`);
    expect(rows.map((r) => r.value)).toEqual(['2026-01-01 10:00:00', '2026-01-01 15:00:00', '2026-01-01 10:00:00', '2026-01-01 10:00:00', '2026-01-01 00:00:00', '2026-01-01 09:00:00', '2026-01-01 10:00:00']);
  });

  it('follows a column format over the guess: epoch units and strptime patterns', async () => {
    expect(await clean('timestamp', '1767323045123', 'epoch_ms')).toBe('2026-01-02 03:04:05.123');
    expect(await clean('timestamp', '86400000', 'epoch_ms')).toBe('1970-01-02 00:00:00');
    expect(await clean('timestamp', '02/01/2026 03:04', '%d/%m/%Y %H:%M')).toBe('2026-01-02 03:04:00');
    expect(await clean('timestamp', '02/01/2026 03:04 +0100', '%d/%m/%Y %H:%M %z')).toBe('2026-01-02 02:04:00');
    expect(await clean('date', '02/01/2026', '%d/%m/%Y')).toBe('2026-01-02');
    expect(await clean('timestamp', '2026-01-02T03:04:05Z', 'epoch_s')).toBe('BAD');
    expect(await clean('date', '2026-01-02', '%d/%m/%Y')).toBe('BAD');
  });

  it('refuses what cannot be sanitized instead of nulling it; empty text and NULL are missing values', async () => {
    for (const bad of ['yesterday', 'infinity', '2026-13-01', '2026-01-02T25:00:00Z', '12.5.3', '123456789012345678']) expect(await clean('timestamp', bad), bad).toBe('BAD');
    expect(await clean('timestamp', '')).toBeNull();
    expect(await clean('timestamp', null)).toBeNull();
    expect(await clean('date', '2026-02-30')).toBe('BAD');
    expect(await clean('long', '12.0')).toBe('BAD');
    expect(await clean('long', '9223372036854775808')).toBe('BAD');
    expect(await clean('double', 'abc')).toBe('BAD');
  });

  it('refuses a missing, empty or blank user id (a row of no subject), with a reason that says so', async () => {
    const c: SchemaColumn = { name: 'uid', type: 'string', role: 'user_id' };
    const { value, bad } = sanitizeColumn(c, 'v', 'VARCHAR');
    const texts = ['u-1', ' u-2 ', '', '   ', null];
    const rows = await duck.all<{ value: string | null; bad: boolean }>(
      `SELECT ${value} AS value, ${bad} AS bad FROM unnest([${texts.map((t) => (t === null ? 'NULL' : literal(t))).join(', ')}]::VARCHAR[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
    );
    expect(rows).toEqual([{ value: 'u-1', bad: false }, { value: 'u-2', bad: false }, { value: '', bad: true }, { value: '', bad: true }, { value: null, bad: true }]);
    await expect(duck.all(`SELECT ${strictValue(c, 'v', 'VARCHAR')} FROM (SELECT '  '::VARCHAR AS v)`)).rejects.toThrow('column uid: expects a non-empty string (the user id)');
    expect((await duck.all<{ x: string }>(`SELECT ${strictValue(c, 'v', 'VARCHAR')} AS x FROM (SELECT ' u-3'::VARCHAR AS v)`))[0]!.x).toBe('u-3');
  });

  it('normalizes booleans, decimals, longs and strings', async () => {
    for (const t of ['true', 'T', 'yes', 'Y', '1', ' True ']) expect(await clean('boolean', t), t).toBe('true');
    for (const f of ['false', 'F', 'no', 'N', '0']) expect(await clean('boolean', f), f).toBe('false');
    expect(await clean('boolean', 'maybe')).toBe('BAD');
    expect(await clean('decimal(10,2)', ' 12.5 ')).toBe('12.50');
    expect(await clean('decimal(10,2)', '-.5')).toBe('-0.50');
    expect(await clean('decimal(10,2)', '+3')).toBe('3.00');
    // A value that would round is refused, and so are separators and exponents.
    for (const bad of ['12.345', '1,234.50', '1e3', '123456789.00']) expect(await clean('decimal(10,2)', bad), bad).toBe('BAD');
    expect(await clean('long', ' -42 ')).toBe('-42');
    expect(await clean('string', '  padded  ')).toBe('padded');
  });

  it('fails the strict read with the column and its type, never the value', async () => {
    const expr = strictValue({ name: 'at', type: 'timestamp' }, 'v', 'VARCHAR');
    await expect(duck.all(`SELECT ${expr} FROM (SELECT 'secret-value' AS v)`)).rejects.toThrow(/column at: expects a timestamp/);
    await expect(duck.all(`SELECT ${expr} FROM (SELECT 'secret-value' AS v)`)).rejects.not.toThrow(/secret/);
  });

  it('accepts formats only on date and timestamp columns, and only safe patterns', () => {
    expect(formatProblem({ name: 'at', type: 'timestamp', format: 'epoch_ms' })).toBeNull();
    expect(formatProblem({ name: 'd', type: 'date', format: '%d.%m.%Y' })).toBeNull();
    expect(formatProblem({ name: 'd', type: 'date', format: 'epoch_ms' })).toMatch(/strptime/);
    expect(formatProblem({ name: 'q', type: 'long', format: '%d' })).toMatch(/only date and timestamp/);
    expect(formatProblem({ name: 'at', type: 'timestamp', format: "%d'; DROP TABLE x; --" })).toMatch(/format must be/);
  });
});
