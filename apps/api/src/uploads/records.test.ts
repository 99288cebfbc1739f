import { describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import type { ColumnSpec } from '../schemas.js';
import { validateRecord } from './records.js';

const columns: ColumnSpec[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'amount', type: 'decimal(10,2)' },
  { name: 'qty', type: 'long' },
  { name: 'score', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'timestamp', role: 'event_time' },
];

function error(record: unknown, line = 7): AtollError {
  try {
    validateRecord(columns, record, line);
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    return e as AtollError;
  }
  throw new Error('accepted');
}

describe('validateRecord', () => {
  it('normalises a valid record and fills missing nullable columns with null', () => {
    expect(validateRecord(columns, { user_id: 'u1', amount: 12.5, qty: 3, at: '2026-01-02T03:04:05Z' }, 1)).toEqual({
      user_id: 'u1',
      amount: '12.5',
      qty: 3,
      score: null,
      ok: null,
      day: null,
      at: '2026-01-02T03:04:05Z',
    });
  });

  it('names the line and the column of every violation', () => {
    expect(error({ user_id: 'u', qty: 1.5 }).message).toBe("a record does not match the table's schema: line 7: column qty expects an integer, got 1.5");
    expect(error({ qty: 1 }).message).toMatch(/line 7: column user_id \(the user id\) is required/);
    expect(error({ user_id: 'u', surprise: 1 }).message).toMatch(/unknown column "surprise"/);
    expect(error({ user_id: 'u', day: '2026-02-30' }).message).toMatch(/column day expects a date/);
    expect(error({ user_id: 'u', at: 'yesterday' }).message).toMatch(/column at expects an ISO 8601 timestamp/);
    expect(error({ user_id: 'u', amount: '123456789.1' }).message).toMatch(/decimal\(10,2\)/);
    expect(error({ user_id: 'u', amount: 1.234 }).message).toMatch(/decimal\(10,2\)/);
    expect(error({ user_id: 'u', ok: 'yes' }).message).toMatch(/column ok expects true or false/);
    expect(error([1, 2]).message).toMatch(/must be a JSON object/);
    expect(error({ user_id: '' }).code).toBe('SCHEMA_VIOLATION');
    expect(error({ user_id: 'u', qty: 2 ** 60 }).details).toEqual({ line: 7 });
  });
});
