// Column plumbing between a provider's schema, the raw table and the published dataset.
import { ident, literal } from '@atoll/duck';
import { icebergSchemaFromColumns, type ColumnType, type IcebergSchema } from '@atoll/iceberg';

export interface SchemaColumn {
  name: string;
  type: ColumnType;
  role?: 'user_id' | 'identity' | 'event_time' | 'data';
}

export function rawSchema(columns: readonly SchemaColumn[]): IcebergSchema {
  return icebergSchemaFromColumns(columns.map((c) => ({ name: c.name, type: c.type, required: c.role === 'user_id' })));
}

/** Published rows: the pseudonym first, then every column that is neither the user id nor an identity field. */
export function publishedColumns(columns: readonly SchemaColumn[]): SchemaColumn[] {
  return [{ name: 'tid', type: 'string' }, ...columns.filter((c) => c.role !== 'user_id' && c.role !== 'identity')];
}

export function publishedSchema(columns: readonly SchemaColumn[]): IcebergSchema {
  return icebergSchemaFromColumns(publishedColumns(columns).map((c) => ({ name: c.name, type: c.type, required: c.name === 'tid' })));
}

/** The read_json column types: text for anything DuckDB should parse strictly itself (dates, timestamps, decimals). */
export function jsonReadType(type: string): string {
  switch (type) {
    case 'long':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'VARCHAR';
  }
}

function castExpr(c: SchemaColumn): string {
  const col = ident(c.name);
  switch (c.type) {
    case 'date':
      return `CAST(${col} AS DATE)`;
    case 'timestamp':
      // Zone-less timestamps are read as UTC (the session zone); zoned ones are converted to UTC.
      return `CAST(CAST(${col} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
    default: {
      const m = /^decimal\((\d+),(\d+)\)$/.exec(c.type);
      return m ? `CAST(${col} AS DECIMAL(${m[1]},${m[2]}))` : col;
    }
  }
}

/** SELECT over a CSV file with a header row that yields the raw table's columns with their exact types. */
export function csvSelect(file: string, columns: readonly SchemaColumn[]): string {
  const spec = columns.map((c) => `${literal(c.name)}: ${literal(jsonReadType(c.type))}`).join(', ');
  const list = columns.map((c) => `${castExpr(c)} AS ${ident(c.name)}`).join(', ');
  return `SELECT ${list} FROM read_csv(${literal(file)}, header = true, columns = {${spec}}, auto_detect = false, strict_mode = true)`;
}

/** SELECT over an NDJSON file that yields the raw table's columns with their exact types. */
export function ndjsonSelect(file: string, columns: readonly SchemaColumn[]): string {
  const spec = columns.map((c) => `${literal(c.name)}: ${literal(jsonReadType(c.type))}`).join(', ');
  const list = columns.map((c) => `${castExpr(c)} AS ${ident(c.name)}`).join(', ');
  return `SELECT ${list} FROM read_json(${literal(file)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 1048576)`;
}
