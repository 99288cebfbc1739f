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
