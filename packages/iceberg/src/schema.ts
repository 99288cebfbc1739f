// Builds Iceberg schemas from Atoll column lists and maps them onto DuckDB (column types and Parquet FIELD_IDS).
import { InvalidInputError } from './errors.js';
import type { ColumnType, IcebergSchema, IcebergType, NestedField } from './types.js';
import { parsePrimitiveType, validateSchema } from './types.js';

const PUBLIC_TYPES = new Set(['string', 'long', 'double', 'boolean', 'date', 'timestamp']);

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  required?: boolean;
  doc?: string;
}

/** Schema for a flat column list; field ids are assigned 1..n in column order. */
export function icebergSchemaFromColumns(columns: ColumnDefinition[], schemaId = 0): IcebergSchema {
  if (columns.length === 0) throw new InvalidInputError('a table needs at least one column');
  // DuckDB resolves identifiers case-insensitively, so names differing only by case would collide in SQL and FIELD_IDS.
  const lower = new Set<string>();
  const fields: NestedField[] = columns.map((c, i) => {
    if (typeof c.name !== 'string' || c.name.length === 0) throw new InvalidInputError(`column ${i + 1} has no name`);
    const key = c.name.toLowerCase();
    if (lower.has(key)) throw new InvalidInputError(`column name ${JSON.stringify(c.name)} is used twice (names are case-insensitive)`);
    lower.add(key);
    const type = parsePrimitiveType(String(c.type));
    if (!PUBLIC_TYPES.has(type) && !type.startsWith('decimal(')) {
      throw new InvalidInputError(`column ${JSON.stringify(c.name)}: type ${String(c.type)} is not an Atoll column type`);
    }
    const field: NestedField = { id: i + 1, name: c.name, required: c.required === true, type };
    if (c.doc !== undefined) field.doc = c.doc;
    return field;
  });
  const schema: IcebergSchema = { type: 'struct', 'schema-id': schemaId, fields };
  validateSchema(schema);
  return schema;
}

/** DuckDB SQL type for an Iceberg type (used to cast before COPY so Parquet physical types match the spec). */
export function duckdbColumnType(type: IcebergType): string {
  if (typeof type === 'string') {
    switch (type) {
      case 'boolean':
        return 'BOOLEAN';
      case 'int':
        return 'INTEGER';
      case 'long':
        return 'BIGINT';
      case 'float':
        return 'FLOAT';
      case 'double':
        return 'DOUBLE';
      case 'date':
        return 'DATE';
      case 'time':
        return 'TIME';
      case 'timestamp':
        return 'TIMESTAMP';
      case 'timestamptz':
        return 'TIMESTAMPTZ';
      case 'string':
        return 'VARCHAR';
      case 'uuid':
        return 'UUID';
      case 'binary':
        return 'BLOB';
      default: {
        if (type.startsWith('decimal(')) return type.toUpperCase();
        // DuckDB has no fixed-length binary; BLOB is the closest and Parquet readers accept it for fixed[L].
        return 'BLOB';
      }
    }
  }
  if (type.type === 'struct') {
    return `STRUCT(${type.fields.map((f) => `${quoteIdentifier(f.name)} ${duckdbColumnType(f.type)}`).join(', ')})`;
  }
  if (type.type === 'list') return `${duckdbColumnType(type.element)}[]`;
  return `MAP(${duckdbColumnType(type.key)}, ${duckdbColumnType(type.value)})`;
}

/** DuckDB identifier quoting ("a""b"). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteKey(name: string): string {
  return `'${name.replace(/'/g, "''")}'`;
}

function nestedFieldIds(id: number, type: IcebergType): string {
  if (typeof type === 'string') return String(id);
  // DuckDB names a nested column's own id `__duckdb_field_id` and its children by their Parquet names.
  if (type.type === 'struct') {
    const children = type.fields.map((f) => `${quoteKey(f.name)}: ${nestedFieldIds(f.id, f.type)}`);
    return `{__duckdb_field_id: ${id}, ${children.join(', ')}}`;
  }
  if (type.type === 'list') return `{__duckdb_field_id: ${id}, 'element': ${nestedFieldIds(type['element-id'], type.element)}}`;
  return `{__duckdb_field_id: ${id}, 'key': ${nestedFieldIds(type['key-id'], type.key)}, 'value': ${nestedFieldIds(type['value-id'], type.value)}}`;
}

/**
 * The value for DuckDB's `COPY … (FORMAT parquet, FIELD_IDS <value>)`, e.g. `{'a': 1, 'b': 2}`, so Parquet columns
 * carry Iceberg field ids (readers resolve columns by id, not name). Keys are quoted string literals so any column
 * name is safe to splice into SQL.
 */
export function duckdbFieldIds(schema: IcebergSchema): string {
  return `{${schema.fields.map((f) => `${quoteKey(f.name)}: ${nestedFieldIds(f.id, f.type)}`).join(', ')}}`;
}

/** `SELECT` list casting each column to its Iceberg-matching DuckDB type, for `COPY (SELECT <this> FROM src) TO …`. */
export function duckdbSelectList(schema: IcebergSchema): string {
  return schema.fields.map((f) => `CAST(${quoteIdentifier(f.name)} AS ${duckdbColumnType(f.type)}) AS ${quoteIdentifier(f.name)}`).join(', ');
}

/** Field lookup by top-level column name. */
export function findColumn(schema: IcebergSchema, name: string): NestedField | undefined {
  return schema.fields.find((f) => f.name === name);
}
