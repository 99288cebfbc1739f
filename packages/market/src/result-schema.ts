// Maps the columns of a consumer's result (DuckDB types) to the cleanroom table's Iceberg schema.
import { icebergSchemaFromColumns, type ColumnType, type IcebergSchema } from '@atoll/iceberg';

export function columnTypeFromDuck(duckType: string): ColumnType {
  const t = duckType.toUpperCase();
  if (t === 'VARCHAR' || t === 'UUID' || t.startsWith('ENUM')) return 'string';
  if (['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'].includes(t)) return 'long';
  if (t === 'DOUBLE' || t === 'FLOAT') return 'double';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t === 'TIMESTAMP' || t === 'TIMESTAMP_S' || t === 'TIMESTAMP_MS' || t === 'TIMESTAMP WITH TIME ZONE') return 'timestamp';
  const m = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
  if (m) return `decimal(${Number(m[1])},${Number(m[2])})`;
  // Anything else (HUGEINT, lists, structs, intervals…) is delivered as its text form.
  return 'string';
}

export function resultSchema(columns: ReadonlyArray<{ name: string; type: string }>): IcebergSchema {
  return icebergSchemaFromColumns(columns.map((c) => ({ name: c.name, type: columnTypeFromDuck(c.type), required: c.name === 'tid' })));
}
