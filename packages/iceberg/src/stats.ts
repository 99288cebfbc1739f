// DataFile entries for Parquet files: exact size and counts, per-column sizes, value/null counts and lower/upper
// bounds, read from the Parquet footer with DuckDB's parquet_metadata()/parquet_schema() (no data scan).
import { stat } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InvalidInputError } from './errors.js';
import type { PrimitiveValue } from './conversions.js';
import { compareValues, parseDate, parseDecimalUnscaled, parseTimeMicros, parseTimestampMicros, toBinary } from './conversions.js';
import type { DataFile } from './manifest.js';
import type { PartitionValue } from './partition.js';
import type { IcebergSchema, PrimitiveType } from './types.js';
import { decimalParams, indexFields } from './types.js';

/** Bound length for strings, as the reference implementation's default metrics mode `truncate(16)`. */
export const DEFAULT_STRING_BOUND_LENGTH = 16;

export interface DataFileFromParquetOptions {
  /** Where the file lives in the lake (absolute URI); the local path is only where we read the footer from. */
  uri: string;
  schema: IcebergSchema;
  /** Partition values by partition field name; validated against the spec at commit. */
  partition?: Record<string, unknown>;
  specId?: number;
  sortOrderId?: number;
  /** Reuse a caller's DuckDB connection; otherwise a private single-threaded in-memory instance is used. */
  connection?: DuckDBConnection;
  stringBoundLength?: number;
}

let sharedInstance: Promise<DuckDBInstance> | undefined;

async function withConnection<T>(given: DuckDBConnection | undefined, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  if (given) return fn(given);
  // Footer reads are tiny; one thread keeps this from competing with the caller's own DuckDB work.
  sharedInstance ??= DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await (await sharedInstance).connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
  }
}

interface ColumnChunkRow {
  row_group_id: bigint;
  row_group_num_rows: bigint;
  column_id: bigint;
  num_values: bigint | null;
  stats_min_value: string | null;
  stats_max_value: string | null;
  stats_null_count: bigint | null;
  min_is_exact: boolean | null;
  max_is_exact: boolean | null;
  total_compressed_size: bigint | null;
  dictionary_page_offset: bigint | null;
  data_page_offset: bigint | null;
}

interface SchemaRow {
  name: string;
  field_id: bigint | null;
  num_children: bigint | null;
}

interface LeafStats {
  fieldId: number;
  columnSize: bigint;
  valueCount: bigint;
  nullCount: bigint | null;
  lower: PrimitiveValue | null;
  upper: PrimitiveValue | null;
  /** false once any row group with values lacked usable min/max: then no bound is trustworthy. */
  boundsUsable: boolean;
}

/** Largest string ≥ every string with this prefix that is at most `length` code points, or null if none exists. */
export function truncateUpperBound(value: string, length: number): string | null {
  const cps = Array.from(value);
  if (cps.length <= length) return value;
  const prefix = cps.slice(0, length);
  for (let i = prefix.length - 1; i >= 0; i--) {
    let cp = prefix[i]!.codePointAt(0)! + 1;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000; // skip the surrogate range, not valid scalar values
    if (cp <= 0x10ffff) {
      prefix[i] = String.fromCodePoint(cp);
      return prefix.slice(0, i + 1).join('');
    }
  }
  return null;
}

export function truncateLowerBound(value: string, length: number): string {
  const cps = Array.from(value);
  return cps.length <= length ? value : cps.slice(0, length).join('');
}

/** DuckDB's text form of a Parquet min/max → in-memory value of the Iceberg type, or null when not representable. */
export function parseStatValue(type: PrimitiveType, text: string, exact: boolean): PrimitiveValue | null {
  switch (type) {
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : null;
    case 'int': {
      const n = Number(text);
      return /^-?\d+$/.test(text) && Number.isSafeInteger(n) ? n : null;
    }
    case 'long':
      return /^-?\d+$/.test(text) ? BigInt(text) : null;
    case 'float':
    case 'double': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) return null; // rejects nan/inf spellings
      const n = Number(text);
      return type === 'float' ? Math.fround(n) : n;
    }
    case 'date':
      return parseDate(text);
    case 'time':
      return parseTimeMicros(text);
    case 'timestamp':
    case 'timestamptz':
      return parseTimestampMicros(text);
    case 'string':
      // A non-exact (truncated) statistic cut inside a UTF-8 sequence shows up as U+FFFD; don't trust it then.
      return !exact && text.includes('\uFFFD') ? null : text;
    default: {
      const dec = decimalParams(type);
      if (dec) return parseDecimalUnscaled(text, dec.scale);
      // uuid, binary, fixed: DuckDB's text rendering of these statistics is not a reliable byte image; no bounds.
      return null;
    }
  }
}

function rows<T>(reader: { getRowObjectsJS(): unknown[] }): T[] {
  return reader.getRowObjectsJS() as T[];
}

/**
 * Builds the DataFile for a Parquet file written with Iceberg field ids. Validates that every column carries a
 * field id of `schema`, required columns are present and hold no nulls.
 */
export async function dataFileFromParquet(localPath: string, opts: DataFileFromParquetOptions): Promise<DataFile> {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(opts.uri)) throw new InvalidInputError(`data file uri must be absolute with a scheme, got ${opts.uri}`);
  const fileSize = (await stat(localPath)).size;
  const boundLength = opts.stringBoundLength ?? DEFAULT_STRING_BOUND_LENGTH;
  const { chunks, schemaRows, numRows } = await withConnection(opts.connection, async (c) => {
    const meta = await c.runAndReadAll(
      `SELECT row_group_id, row_group_num_rows, column_id, num_values, stats_min_value, stats_max_value, stats_null_count,
              min_is_exact, max_is_exact, total_compressed_size, dictionary_page_offset, data_page_offset
         FROM parquet_metadata($1) ORDER BY row_group_id, column_id`,
      [localPath],
    );
    const schemaRes = await c.runAndReadAll('SELECT name, field_id, num_children FROM parquet_schema($1)', [localPath]);
    const fileRes = await c.runAndReadAll('SELECT num_rows FROM parquet_file_metadata($1)', [localPath]);
    const fileRow = rows<{ num_rows: bigint }>(fileRes)[0];
    return { chunks: rows<ColumnChunkRow>(meta), schemaRows: rows<SchemaRow>(schemaRes), numRows: fileRow?.num_rows ?? 0n };
  });

  const where = `Parquet file ${opts.uri}`;
  const fields = indexFields(opts.schema);
  // parquet_schema lists the root first, then elements depth first; leaves appear in column-chunk order.
  const leafFieldIds: number[] = [];
  const presentIds = new Set<number>();
  schemaRows.slice(1).forEach((r) => {
    const id = r.field_id === null ? null : Number(r.field_id);
    if (id !== null) presentIds.add(id);
    const isLeaf = r.num_children === null || r.num_children === 0n;
    if (!isLeaf) return;
    if (id === null) {
      throw new InvalidInputError(`${where}: column ${JSON.stringify(r.name)} has no Iceberg field id; write it with COPY … (FORMAT parquet, FIELD_IDS …)`);
    }
    leafFieldIds.push(id);
  });
  for (const id of presentIds) {
    if (!fields.has(id)) throw new InvalidInputError(`${where}: field id ${id} is not in the table schema (schema-id ${opts.schema['schema-id']})`);
  }
  for (const f of opts.schema.fields) {
    if (f.required && !presentIds.has(f.id)) throw new InvalidInputError(`${where}: required column ${f.name} (field id ${f.id}) is missing`);
  }

  const leaves = new Map<number, LeafStats>();
  const rowGroupStarts = new Map<bigint, bigint>();
  for (const chunk of chunks) {
    const fieldId = leafFieldIds[Number(chunk.column_id)];
    if (fieldId === undefined) throw new InvalidInputError(`${where}: column chunk ${chunk.column_id} has no matching schema leaf`);
    const start = chunk.dictionary_page_offset ?? chunk.data_page_offset;
    if (start !== null) {
      const prev = rowGroupStarts.get(chunk.row_group_id);
      if (prev === undefined || start < prev) rowGroupStarts.set(chunk.row_group_id, start);
    }
    let leaf = leaves.get(fieldId);
    if (!leaf) {
      leaf = { fieldId, columnSize: 0n, valueCount: 0n, nullCount: 0n, lower: null, upper: null, boundsUsable: true };
      leaves.set(fieldId, leaf);
    }
    leaf.columnSize += chunk.total_compressed_size ?? 0n;
    leaf.valueCount += chunk.num_values ?? chunk.row_group_num_rows;
    leaf.nullCount = chunk.stats_null_count === null || leaf.nullCount === null ? null : leaf.nullCount + chunk.stats_null_count;

    const info = fields.get(fieldId);
    if (!info || info.inCollection || typeof info.field.type !== 'string' || !leaf.boundsUsable) continue;
    const type = info.field.type;
    const allNull = chunk.stats_null_count !== null && chunk.num_values !== null && chunk.stats_null_count === chunk.num_values;
    if (allNull) continue; // nothing to bound in this row group
    const lo = chunk.stats_min_value === null ? null : parseStatValue(type, chunk.stats_min_value, chunk.min_is_exact !== false);
    const hi = chunk.stats_max_value === null ? null : parseStatValue(type, chunk.stats_max_value, chunk.max_is_exact !== false);
    if (lo === null || hi === null || (typeof lo === 'number' && Number.isNaN(lo)) || (typeof hi === 'number' && Number.isNaN(hi))) {
      leaf.boundsUsable = false;
      leaf.lower = null;
      leaf.upper = null;
      continue;
    }
    if (leaf.lower === null || compareValues(type, lo, leaf.lower) < 0) leaf.lower = lo;
    if (leaf.upper === null || compareValues(type, hi, leaf.upper) > 0) leaf.upper = hi;
  }

  const columnSizes: Record<number, number> = {};
  const valueCounts: Record<number, number> = {};
  const nullValueCounts: Record<number, number> = {};
  const lowerBounds: Record<number, string> = {};
  const upperBounds: Record<number, string> = {};
  for (const leaf of leaves.values()) {
    columnSizes[leaf.fieldId] = Number(leaf.columnSize);
    valueCounts[leaf.fieldId] = Number(leaf.valueCount);
    if (leaf.nullCount !== null) nullValueCounts[leaf.fieldId] = Number(leaf.nullCount);
    const info = fields.get(leaf.fieldId);
    if (info?.field.required && leaf.nullCount !== null && leaf.nullCount > 0n) {
      throw new InvalidInputError(`${where}: required column ${info.path} holds ${leaf.nullCount} null value(s)`);
    }
    if (!info || typeof info.field.type !== 'string' || leaf.lower === null || leaf.upper === null) continue;
    const type = info.field.type;
    let lower: PrimitiveValue | null = leaf.lower;
    let upper: PrimitiveValue | null = leaf.upper;
    if (type === 'float' || type === 'double') {
      // Spec: with a zero present the lower bound must be -0.0 and the upper +0.0; Parquet writers may report either.
      if (lower === 0) lower = -0;
      if (upper === 0) upper = 0;
    }
    if (type === 'string') {
      lower = truncateLowerBound(lower as string, boundLength);
      upper = truncateUpperBound(upper as string, boundLength);
    }
    lowerBounds[leaf.fieldId] = Buffer.from(toBinary(type, lower)).toString('base64');
    if (upper !== null) upperBounds[leaf.fieldId] = Buffer.from(toBinary(type, upper)).toString('base64');
  }

  const dataFile: DataFile = {
    filePath: opts.uri,
    fileFormat: 'PARQUET',
    partition: (opts.partition ?? {}) as Record<string, PartitionValue>,
    recordCount: Number(numRows),
    fileSizeInBytes: fileSize,
    columnSizes,
    valueCounts,
    nullValueCounts,
    lowerBounds,
    upperBounds,
    splitOffsets: [...rowGroupStarts.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(Number),
  };
  if (opts.specId !== undefined) dataFile.specId = opts.specId;
  if (opts.sortOrderId !== undefined) dataFile.sortOrderId = opts.sortOrderId;
  return dataFile;
}
