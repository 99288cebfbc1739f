// Schemas from Atoll columns: field ids 1..n, type validation, and the DuckDB mapping that puts ids into Parquet.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { duckdbColumnType, duckdbFieldIds, duckdbSelectList, icebergSchemaFromColumns } from './schema.js';
import type { IcebergSchema } from './types.js';
import { highestFieldId, parseSchema } from './types.js';

describe('icebergSchemaFromColumns', () => {
  it('assigns field ids 1..n in column order and keeps requiredness', () => {
    const schema = icebergSchemaFromColumns(
      [
        { name: 'tid', type: 'string', required: true },
        { name: 'amount', type: 'decimal(12, 2)' },
        { name: 'at', type: 'timestamp' },
      ],
      3,
    );
    expect(schema).toEqual({
      type: 'struct',
      'schema-id': 3,
      fields: [
        { id: 1, name: 'tid', required: true, type: 'string' },
        { id: 2, name: 'amount', required: false, type: 'decimal(12,2)' },
        { id: 3, name: 'at', required: false, type: 'timestamp' },
      ],
    });
    expect(highestFieldId(schema)).toBe(3);
    expect(parseSchema(JSON.parse(JSON.stringify(schema)))).toEqual(schema);
  });

  it('rejects duplicate (case-insensitive) names, unknown types and bad decimals', () => {
    expect(() => icebergSchemaFromColumns([{ name: 'a', type: 'long' }, { name: 'A', type: 'string' }])).toThrow(InvalidInputError);
    expect(() => icebergSchemaFromColumns([{ name: 'a', type: 'varchar' as 'string' }])).toThrow(/unknown or unsupported/);
    expect(() => icebergSchemaFromColumns([{ name: 'a', type: 'decimal(39,2)' }])).toThrow(/precision/);
    expect(() => icebergSchemaFromColumns([{ name: 'a', type: 'decimal(5,6)' }])).toThrow(/scale/);
    expect(() => icebergSchemaFromColumns([])).toThrow(/at least one column/);
  });
});

describe('DuckDB mapping', () => {
  it('maps Iceberg types to DuckDB types', () => {
    expect(duckdbColumnType('long')).toBe('BIGINT');
    expect(duckdbColumnType('timestamp')).toBe('TIMESTAMP');
    expect(duckdbColumnType('timestamptz')).toBe('TIMESTAMPTZ');
    expect(duckdbColumnType('decimal(10,2)')).toBe('DECIMAL(10,2)');
    expect(duckdbColumnType('string')).toBe('VARCHAR');
    expect(duckdbColumnType('date')).toBe('DATE');
    expect(duckdbColumnType('double')).toBe('DOUBLE');
    expect(duckdbColumnType('boolean')).toBe('BOOLEAN');
    expect(duckdbColumnType({ type: 'list', 'element-id': 5, element: 'int', 'element-required': false })).toBe('INTEGER[]');
  });

  it('builds a FIELD_IDS value DuckDB accepts, quoting awkward names', () => {
    const schema = icebergSchemaFromColumns([
      { name: 'a', type: 'long' },
      { name: "it's", type: 'string' },
    ]);
    expect(duckdbFieldIds(schema)).toBe("{'a': 1, 'it''s': 2}");
  });

  it('writes Parquet whose columns carry the field ids, nested types included', async () => {
    const schema: IcebergSchema = {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'my col', required: false, type: 'long' },
        { id: 2, name: 's', required: false, type: { type: 'struct', fields: [{ id: 4, name: 'x', required: false, type: 'int' }] } },
        { id: 3, name: 'l', required: false, type: { type: 'list', 'element-id': 5, element: 'string', 'element-required': false } },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'ib-schema-'));
    const path = join(dir, 'f.parquet');
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    await duck.run(
      `COPY (SELECT ${duckdbSelectList(schema)} FROM (SELECT 1 AS "my col", {'x': 2} AS s, ['a'] AS l)) TO '${path}' (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(schema)})`,
    );
    const res = await duck.runAndReadAll('SELECT name, field_id FROM parquet_schema($1) WHERE field_id IS NOT NULL', [path]);
    expect(res.getRowObjectsJS().map((r) => [r.name, Number(r.field_id)])).toEqual([
      ['my col', 1],
      ['s', 2],
      ['x', 4],
      ['l', 3],
      ['element', 5],
    ]);
    duck.closeSync();
  });
});
