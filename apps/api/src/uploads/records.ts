// Validation of uploaded records against a table's approved schema: types, unknown fields, required subject.
import { AtollError } from '@atoll/errors';
import type { ColumnSpec } from '../schemas.js';

export type RecordValue = string | number | boolean | null;
export type NormalizedRecord = Record<string, RecordValue>;

const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;
// ISO 8601 date-time with optional fraction and zone.
const timestampRe = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

function fail(line: number, message: string): never {
  throw new AtollError('SCHEMA_VIOLATION', `line ${line}: ${message}`, { details: { line } });
}

function checkDecimal(value: unknown, precision: number, scale: number): string | null {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value : null;
  if (text === null || !/^-?\d+(\.\d+)?$/.test(text)) return null;
  const [intPart = '', frac = ''] = text.replace('-', '').split('.');
  if (frac.length > scale) return null;
  if (intPart.replace(/^0+/, '').length > precision - scale) return null;
  return text;
}

export function validateValue(column: ColumnSpec, value: unknown, line: number): RecordValue {
  if (value === null || value === undefined) {
    if (column.role === 'user_id') fail(line, `column ${column.name} (the user id) is required`);
    return null;
  }
  const t = column.type;
  const got = Array.isArray(value) ? 'array' : typeof value;
  switch (t) {
    case 'string':
      if (typeof value !== 'string') fail(line, `column ${column.name} expects a string, got ${got}`);
      if (column.role === 'user_id' && value.length === 0) fail(line, `column ${column.name} (the user id) is empty`);
      if (value.length > 65_536) fail(line, `column ${column.name} is longer than 65536 characters`);
      return value;
    case 'long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(line, `column ${column.name} expects an integer, got ${typeof value === 'number' ? String(value) : got}`);
      return value;
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(line, `column ${column.name} expects a number, got ${got}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail(line, `column ${column.name} expects true or false, got ${got}`);
      return value;
    case 'date': {
      const m = typeof value === 'string' ? dateRe.exec(value) : null;
      const d = m ? new Date(`${value as string}T00:00:00Z`) : null;
      if (!m || !d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) fail(line, `column ${column.name} expects a date YYYY-MM-DD`);
      return value;
    }
    case 'timestamp': {
      if (typeof value !== 'string' || !timestampRe.test(value) || Number.isNaN(Date.parse(value.replace(' ', 'T')))) {
        fail(line, `column ${column.name} expects an ISO 8601 timestamp`);
      }
      return value;
    }
    default: {
      const m = /^decimal\((\d+),(\d+)\)$/.exec(t);
      if (!m) fail(line, `column ${column.name} has an unsupported type ${t}`);
      const text = checkDecimal(value, Number(m[1]), Number(m[2]));
      if (text === null) fail(line, `column ${column.name} expects a decimal(${m[1]},${m[2]})`);
      return text;
    }
  }
}

export function validateRecord(columns: readonly ColumnSpec[], record: unknown, line: number): NormalizedRecord {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) fail(line, 'a record must be a JSON object');
  const input = record as Record<string, unknown>;
  const known = new Set(columns.map((c) => c.name));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) fail(line, `unknown column ${JSON.stringify(key.slice(0, 64))}`);
  }
  const out: NormalizedRecord = {};
  for (const column of columns) out[column.name] = validateValue(column, input[column.name], line);
  return out;
}
