// Column plumbing between a provider's schema, the raw table and the published dataset.
import { icebergSchemaFromColumns, type ColumnType, type IcebergSchema } from '@atoll/iceberg';

export interface SchemaColumn {
  name: string;
  type: ColumnType;
  role?: 'user_id' | 'identity' | 'event_time' | 'data';
  /** How a date or timestamp column's text is written (sanitize.ts): epoch_s|epoch_ms|epoch_us or a strptime pattern. */
  format?: string;
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

/** Why a schema's record key cannot identify its records, or null (no key: the whole published row does). */
export function recordKeyProblem(columns: readonly { name: string; role?: string | undefined }[], recordKey: readonly string[] | undefined): string | null {
  if (recordKey === undefined) return null;
  const seen = new Set<string>();
  for (const name of recordKey) {
    const c = columns.find((x) => x.name === name);
    if (!c) return `recordKey names ${name}, which is not a column`;
    // Hashes of identity values would be identifiers themselves; the published values carry no such risk.
    if (c.role === 'identity') return `recordKey cannot use the identity column ${name}; identity columns are dropped before publishing`;
    if (seen.has(name)) return `recordKey names ${name} twice`;
    seen.add(name);
  }
  return null;
}

/** The published column names a record key stands for: the user id column becomes the pseudonym. Null: the whole row. */
export function publishedRecordKey(columns: readonly SchemaColumn[], recordKey: readonly string[] | null): string[] {
  if (recordKey === null) return publishedColumns(columns).map((c) => c.name);
  return recordKey.map((name) => (columns.find((c) => c.name === name)?.role === 'user_id' ? 'tid' : name));
}
