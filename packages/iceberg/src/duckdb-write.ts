// DuckDB SQL for Iceberg tables: reading Parquet by field id (renamed/added/widened columns) and writing one Parquet
// file per partition with the spec's transform values computed in SQL, so a partitioned append is one DuckDB job.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InvalidInputError } from './errors.js';
import type { PartitionSpec, PartitionValue } from './partition.js';
import { resolvePartitionSpec } from './partition.js';
import { duckdbColumnType, duckdbFieldIds, quoteIdentifier } from './schema.js';
import type { IcebergSchema, PrimitiveType } from './types.js';
import { indexFields } from './types.js';

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * `read_parquet([...], schema = MAP {…})` over data files of the table: columns are matched by Parquet field id and
 * named/typed as in `schema`, so files written before a rename or widening read correctly and files written before
 * an added column yield NULL for it.
 */
export function duckdbReadParquet(files: readonly string[], schema: IcebergSchema): string {
  if (files.length === 0) throw new InvalidInputError('duckdbReadParquet needs at least one file');
  const entries = schema.fields.map((f) => {
    // An untyped NULL default: typed ones would make the MAP's struct values differ in type and fail to bind.
    return `${f.id}: {name: ${sqlString(f.name)}, type: ${sqlString(duckdbColumnType(f.type))}, default_value: NULL}`;
  });
  return `read_parquet([${files.map(sqlString).join(', ')}], schema = MAP {${entries.join(', ')}})`;
}

/** The source column as a TIMESTAMP in UTC (TIMESTAMPTZ arithmetic would follow the session time zone). */
function utcTimestamp(column: string, type: PrimitiveType): string {
  if (type === 'timestamptz') return `timezone('UTC', ${column})`;
  if (type === 'date') return `CAST(${column} AS TIMESTAMP)`;
  return column;
}

export interface DuckdbPartitionExpression {
  /** Partition field name (the key in DataFile.partition). */
  name: string;
  /** SQL over the table's columns whose value is what DataFile.partition accepts for this field. */
  sql: string;
}

/**
 * SQL computing each partition field of `spec` from a row with the columns of `schema`: identity, year, month, day,
 * hour, truncate and void. Values come out in forms normalizeValue accepts (days for dates, micros for timestamps,
 * text for decimals, base64 for binary). Bucket needs Iceberg's Murmur3 of the binary form, which DuckDB lacks:
 * partition such tables row by row with partitionForRow.
 */
export function duckdbPartitionExpressions(schema: IcebergSchema, spec: PartitionSpec): DuckdbPartitionExpression[] {
  const resolved = resolvePartitionSpec(schema, spec);
  const byId = indexFields(schema);
  return resolved.map((r) => {
    const source = byId.get(r.field['source-id']);
    if (!source || source.path.includes('.')) throw new InvalidInputError(`partition field ${r.field.name}: only top-level source columns are supported in SQL`);
    const col = quoteIdentifier(source.field.name);
    const type = r.sourceType;
    const epoch = (unit: string): string => `CAST(datediff('${unit}', TIMESTAMP '1970-01-01', ${utcTimestamp(col, type)}) AS INTEGER)`;
    let sql: string;
    switch (r.transform.kind) {
      case 'identity':
        if (type === 'date') sql = `CAST(datediff('day', DATE '1970-01-01', ${col}) AS INTEGER)`;
        else if (type === 'timestamp') sql = `epoch_us(${col})`;
        else if (type === 'timestamptz') sql = `epoch_us(${col})`;
        else if (type === 'binary' || type.startsWith('fixed[')) sql = `to_base64(${col})`;
        else if (type.startsWith('decimal(') || type === 'uuid' || type === 'time') sql = `CAST(${col} AS VARCHAR)`;
        else sql = col;
        break;
      case 'year':
      case 'month':
      case 'day':
      case 'hour':
        // datediff counts unit boundaries crossed, which is floor((value - epoch) / unit) as the spec requires.
        sql = epoch(r.transform.kind);
        break;
      case 'truncate': {
        const w = r.transform.width;
        if (type === 'string') sql = `left(${col}, ${w})`;
        else if (type === 'int' || type === 'long') sql = `(${col} - (((${col} % ${w}) + ${w}) % ${w}))`;
        else throw new InvalidInputError(`partition field ${r.field.name}: truncate of ${type} is not supported in SQL`);
        break;
      }
      case 'void':
        sql = 'NULL';
        break;
      case 'bucket':
        throw new InvalidInputError(`partition field ${r.field.name}: bucket transforms cannot be computed in DuckDB; use partitionForRow`);
    }
    return { name: r.field.name, sql };
  });
}

export interface PartitionedParquetFile {
  /** Local path of the written file. */
  path: string;
  /** Partition values for DataFile.partition (with `specId` = the spec's id). */
  partition: Record<string, PartitionValue>;
  specId: number;
}

/**
 * Writes the rows of `select` (columns of `schema`, already typed) as Parquet with field ids under `outputDir`, one
 * file per partition of `spec`. The input is read once into a DuckDB temp table with the partition values; one COPY
 * with PARTITION_BY on a dense partition number then writes every file (hive directories with plain integers, so no
 * value ever has to be parsed back from a path).
 */
export async function writePartitionedParquet(opts: {
  connection: DuckDBConnection;
  select: string;
  schema: IcebergSchema;
  spec: PartitionSpec;
  outputDir: string;
  compression?: string;
}): Promise<PartitionedParquetFile[]> {
  const exprs = duckdbPartitionExpressions(opts.schema, opts.spec);
  const compression = opts.compression ?? 'zstd';
  const staged = `__atoll_staged_${process.pid}_${Date.now().toString(36)}`;
  const parts = `${staged}_parts`;
  const fieldIds = duckdbFieldIds(opts.schema);
  await mkdir(opts.outputDir, { recursive: true });
  if (exprs.length === 0) {
    const path = join(opts.outputDir, 'data.parquet');
    await opts.connection.run(`COPY (${opts.select}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION ${compression}, FIELD_IDS ${fieldIds})`);
    return [{ path, partition: {}, specId: opts.spec['spec-id'] }];
  }
  const pcols = exprs.map((_, i) => `__p${i}`);
  try {
    await opts.connection.run(`CREATE TEMP TABLE ${staged} AS SELECT src.*, ${exprs.map((e, i) => `${e.sql} AS ${pcols[i]}`).join(', ')} FROM (${opts.select}) src`);
    await opts.connection.run(`CREATE TEMP TABLE ${parts} AS SELECT CAST(row_number() OVER () AS INTEGER) AS __part, ${pcols.join(', ')} FROM (SELECT DISTINCT ${pcols.join(', ')} FROM ${staged})`);
    // Columns are selected explicitly so staging columns never reach a file (FIELD_IDS must name every written one).
    const join_ = pcols.map((c) => `s.${c} IS NOT DISTINCT FROM p.${c}`).join(' AND ');
    await opts.connection.run(
      `COPY (SELECT ${opts.schema.fields.map((f) => `s.${quoteIdentifier(f.name)}`).join(', ')}, p.__part FROM ${staged} s JOIN ${parts} p ON ${join_}) ` +
        `TO ${sqlString(opts.outputDir)} (FORMAT parquet, COMPRESSION ${compression}, PARTITION_BY (__part), OVERWRITE_OR_IGNORE, FIELD_IDS ${fieldIds})`,
    );
    const reader = await opts.connection.runAndReadAll(`SELECT __part, ${pcols.join(', ')} FROM ${parts} ORDER BY __part`);
    const out: PartitionedParquetFile[] = [];
    for (const row of reader.getRowObjectsJS()) {
      const dir = join(opts.outputDir, `__part=${Number(row.__part)}`);
      const partition: Record<string, PartitionValue> = {};
      exprs.forEach((e, i) => {
        partition[e.name] = (row[pcols[i]!] ?? null) as PartitionValue;
      });
      for (const name of (await readdir(dir)).filter((n) => n.endsWith('.parquet')).sort()) {
        out.push({ path: join(dir, name), partition, specId: opts.spec['spec-id'] });
      }
    }
    return out;
  } finally {
    await opts.connection.run(`DROP TABLE IF EXISTS ${staged}`).catch(() => undefined);
    await opts.connection.run(`DROP TABLE IF EXISTS ${parts}`).catch(() => undefined);
  }
}
