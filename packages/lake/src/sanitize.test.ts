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
