// dataFileFromParquet on files DuckDB writes: exact size and counts, per-column metrics, bounds in the spec's binary
// encoding (decoded back here), and refusal of files that do not match the table schema.
import { statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary, parseDate, parseTimestampMicros } from './conversions.js';
import type { PrimitiveType } from './types.js';
import { fileUri } from './io.js';
import type { DataFile } from './manifest.js';
import { duckdbFieldIds, duckdbSelectList, icebergSchemaFromColumns } from './schema.js';
import { dataFileFromParquet, truncateUpperBound } from './stats.js';

const schema = icebergSchemaFromColumns([
  { name: 'id', type: 'long', required: true },
  { name: 'name', type: 'string' },
  { name: 'score', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'ts', type: 'timestamp' },
  { name: 'amount', type: 'decimal(10,2)' },
]);
const COLUMNS = '(id, name, score, ok, day, ts, amount)';

let dir: string;
let duck: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ib-stats-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => duck.closeSync());

async function writeParquet(name: string, values: string, extra = ''): Promise<string> {
  const path = join(dir, name);
  await duck.run(
    `COPY (SELECT ${duckdbSelectList(schema)} FROM (VALUES ${values}) v${COLUMNS}) TO '${path}' (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(schema)}${extra})`,
  );
  return path;
}

function bound(df: DataFile, which: 'lowerBounds' | 'upperBounds', id: number, type: PrimitiveType): unknown {
  const b64 = df[which]?.[id];
  return b64 === undefined ? undefined : fromBinary(type, new Uint8Array(Buffer.from(b64, 'base64')));
}

describe('dataFileFromParquet', () => {
  it('reads exact counts, sizes and typed bounds', async () => {
    const rows = [
      "(5, 'banana', 2.5, true, DATE '2024-03-01', TIMESTAMP '2024-03-01 10:00:00.123456', 10.50)",
      "(-3, 'apple', -0.0, false, DATE '1969-12-31', TIMESTAMP '1960-01-01 00:00:00', -7.25)",
      "(9007199254740993, NULL, 0.0, NULL, NULL, NULL, NULL)",
      "(7, 'cherry', 1e300, true, DATE '2030-12-31', TIMESTAMP '2030-12-31 23:59:59.999999', 99999999.99)",
    ];
    const path = await writeParquet('multi.parquet', rows.join(', '));
    const df = await dataFileFromParquet(path, { uri: 's3://lake/t/data/multi.parquet', schema });
    expect(df.filePath).toBe('s3://lake/t/data/multi.parquet');
    expect(df.fileFormat).toBe('PARQUET');
    expect(df.recordCount).toBe(4);
    expect(df.fileSizeInBytes).toBe(statSync(path).size);
    expect(df.splitOffsets).toEqual([4]);
    expect(df.valueCounts).toEqual({ 1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4, 7: 4 });
    expect(df.nullValueCounts).toEqual({ 1: 0, 2: 1, 3: 0, 4: 1, 5: 1, 6: 1, 7: 1 });
    expect(Object.keys(df.columnSizes ?? {})).toHaveLength(7);
    expect(bound(df, 'lowerBounds', 1, 'long')).toBe(-3n);
    expect(bound(df, 'upperBounds', 1, 'long')).toBe(9007199254740993n);
    expect(bound(df, 'lowerBounds', 2, 'string')).toBe('apple');
    expect(bound(df, 'upperBounds', 2, 'string')).toBe('cherry');
    expect(Object.is(bound(df, 'lowerBounds', 3, 'double'), -0)).toBe(true);
    expect(bound(df, 'upperBounds', 3, 'double')).toBe(1e300);
    expect(bound(df, 'lowerBounds', 4, 'boolean')).toBe(false);
    expect(bound(df, 'upperBounds', 4, 'boolean')).toBe(true);
    expect(bound(df, 'lowerBounds', 5, 'date')).toBe(parseDate('1969-12-31'));
    expect(bound(df, 'upperBounds', 5, 'date')).toBe(parseDate('2030-12-31'));
    expect(bound(df, 'lowerBounds', 6, 'timestamp')).toBe(parseTimestampMicros('1960-01-01 00:00:00'));
    expect(bound(df, 'upperBounds', 6, 'timestamp')).toBe(parseTimestampMicros('2030-12-31 23:59:59.999999'));
    expect(bound(df, 'lowerBounds', 7, 'decimal(10,2)')).toBe(-725n);
    expect(bound(df, 'upperBounds', 7, 'decimal(10,2)')).toBe(9999999999n);
    expect(JSON.parse(JSON.stringify(df))).toEqual(df); // job payloads survive JSON
  });

  it('aggregates counts and bounds over several row groups', async () => {
    const path = join(dir, 'groups.parquet');
    await duck.run(
      `COPY (SELECT ${duckdbSelectList(schema)} FROM (
         SELECT i - 100 AS id, CASE WHEN i % 10 = 0 THEN NULL ELSE 'n' || lpad(i::VARCHAR, 5, '0') END AS name, i / 2 AS score,
                i % 2 = 0 AS ok, DATE '2000-01-01' + i::INTEGER AS day, NULL AS ts, i AS amount
         FROM range(5000) t(i))) TO '${path}' (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(schema)}, ROW_GROUP_SIZE 2048)`,
    );
    const df = await dataFileFromParquet(path, { uri: fileUri(path), schema });
    expect(df.recordCount).toBe(5000);
    expect(df.splitOffsets!.length).toBeGreaterThan(1);
    expect(df.splitOffsets).toEqual([...df.splitOffsets!].sort((a, b) => a - b));
    expect(df.valueCounts?.[1]).toBe(5000);
    expect(df.nullValueCounts?.[2]).toBe(500);
    expect(df.nullValueCounts?.[6]).toBe(5000);
    expect(bound(df, 'lowerBounds', 1, 'long')).toBe(-100n);
    expect(bound(df, 'upperBounds', 1, 'long')).toBe(4899n);
    expect(bound(df, 'lowerBounds', 2, 'string')).toBe('n00001');
    expect(bound(df, 'upperBounds', 2, 'string')).toBe('n04999');
    expect(bound(df, 'upperBounds', 5, 'date')).toBe(parseDate('2000-01-01')! + 4999);
    expect(bound(df, 'upperBounds', 7, 'decimal(10,2)')).toBe(499900n);
    expect(df.lowerBounds?.[6]).toBeUndefined();
  });

  it('zero bounds follow the spec (-0.0 lower, +0.0 upper); NaN columns get no bounds', async () => {
    const zeros = await writeParquet('zeros.parquet', "(1, 'a', 0.0, true, NULL, NULL, NULL), (2, 'b', -0.0, true, NULL, NULL, NULL)");
    const z = await dataFileFromParquet(zeros, { uri: fileUri(zeros), schema });
    expect(Object.is(bound(z, 'lowerBounds', 3, 'double'), -0)).toBe(true);
    expect(Object.is(bound(z, 'upperBounds', 3, 'double'), 0)).toBe(true);
    const nan = await writeParquet('nan.parquet', "(1, 'a', 'NaN'::DOUBLE, true, NULL, NULL, NULL), (2, 'b', 1.0, true, NULL, NULL, NULL)");
    const n = await dataFileFromParquet(nan, { uri: fileUri(nan), schema });
    expect(n.lowerBounds?.[3]).toBeUndefined();
    expect(n.upperBounds?.[3]).toBeUndefined();
    // Columns with only nulls have counts but no bounds.
    expect(n.nullValueCounts?.[5]).toBe(2);
    expect(n.lowerBounds?.[5]).toBeUndefined();
  });

  it('truncates long string bounds to 16 code points, keeping them valid bounds', async () => {
    const long = `${'m'.repeat(30)}😀`;
    const path = await writeParquet('long.parquet', `(1, '${long}', NULL, NULL, NULL, NULL, NULL), (2, '${'a'.repeat(20)}', NULL, NULL, NULL, NULL, NULL)`);
    const df = await dataFileFromParquet(path, { uri: fileUri(path), schema });
    expect(bound(df, 'lowerBounds', 2, 'string')).toBe('a'.repeat(16));
    expect(bound(df, 'upperBounds', 2, 'string')).toBe(`${'m'.repeat(15)}n`);
    expect(truncateUpperBound('ab\u{10FFFF}\u{10FFFF}x', 4)).toBe('ac');
    expect(truncateUpperBound('\u{10FFFF}\u{10FFFF}', 1)).toBeNull();
    expect(truncateUpperBound('a\uD7FFb', 2)).toBe('a\uE000');
  });

  it('refuses Parquet written without field ids, with unknown ids, or with nulls in a required column', async () => {
    const noIds = join(dir, 'noids.parquet');
    await duck.run(`COPY (SELECT 1::BIGINT AS id) TO '${noIds}' (FORMAT parquet)`);
    await expect(dataFileFromParquet(noIds, { uri: fileUri(noIds), schema })).rejects.toThrow(/column "id" has no Iceberg field id/);
    const wrongId = join(dir, 'wrongid.parquet');
    await duck.run(`COPY (SELECT 1::BIGINT AS id, 2 AS x) TO '${wrongId}' (FORMAT parquet, FIELD_IDS {id: 1, x: 99})`);
    await expect(dataFileFromParquet(wrongId, { uri: fileUri(wrongId), schema })).rejects.toThrow(/field id 99 is not in the table schema/);
    const missingRequired = join(dir, 'missing.parquet');
    await duck.run(`COPY (SELECT 'x' AS name) TO '${missingRequired}' (FORMAT parquet, FIELD_IDS {name: 2})`);
    await expect(dataFileFromParquet(missingRequired, { uri: fileUri(missingRequired), schema })).rejects.toThrow(/required column id \(field id 1\) is missing/);
    const nulls = await writeParquet('nulls.parquet', "(NULL, 'a', NULL, NULL, NULL, NULL, NULL)");
    await expect(dataFileFromParquet(nulls, { uri: fileUri(nulls), schema })).rejects.toThrow(/required column id holds 1 null/);
  });
});
