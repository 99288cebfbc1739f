// Schema evolution without rewriting data: add, rename and widen columns (spec: Schema Evolution); a new schema id
// becomes current, old files keep their field ids, so readers resolve renamed columns by id and see null for new ones.
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { InvalidInputError, SchemaEvolutionError } from './errors.js';
import type { ObjectIO } from './io.js';
import { currentSchema } from './metadata.js';
import type { TableMetadata } from './metadata.js';
import { commitWithRetry } from './commit.js';
import type { TableUpdate } from './updates.js';
import { applyUpdates } from './updates.js';
import { resolvePartitionSpec } from './partition.js';
import type { IcebergSchema, NestedField, PrimitiveType } from './types.js';
import { highestFieldId, isAllowedPromotion, parsePrimitiveType, validateSchema } from './types.js';

export type SchemaChange =
  | { op: 'add-column'; name: string; type: string; required?: false; doc?: string }
  | { op: 'rename-column'; from: string; to: string }
  | { op: 'widen-column'; name: string; type: string };

export interface UpdateSchemaOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  changes: SchemaChange[];
  /** Idempotency key: a retried call whose key is already recorded on the table changes nothing. */
  commitId?: string;
  maxRetries?: number;
}

export interface UpdateSchemaResult {
  schema: IcebergSchema;
  schemaId: number;
  metadataLocation: string;
  /** True when nothing was written (the commit id was already applied, or the changes were no-ops). */
  alreadyCommitted: boolean;
}

/** Table property holding the commit id of the last schema update (idempotent job retries). */
export const SCHEMA_COMMIT_ID_PROPERTY = 'atoll.schema-commit-id';

function primitive(type: string, where: string): PrimitiveType {
  try {
    return parsePrimitiveType(type);
  } catch (err) {
    throw new SchemaEvolutionError(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

function findByName(fields: NestedField[], name: string): NestedField | undefined {
  return fields.find((f) => f.name === name);
}

/** Column names are compared case-insensitively: DuckDB (our writer and reader) resolves identifiers that way. */
function clash(fields: NestedField[], name: string, except?: number): NestedField | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.id !== except && f.name.toLowerCase() === lower);
}

/** Applies `changes` to the table's current schema; pure, throws SchemaEvolutionError on the first disallowed one. */
export function evolveSchema(metadata: TableMetadata, changes: SchemaChange[]): IcebergSchema {
  if (!Array.isArray(changes) || changes.length === 0) throw new InvalidInputError('updateSchema needs at least one change');
  const base = currentSchema(metadata);
  let fields: NestedField[] = base.fields.map((f) => ({ ...f }));
  let lastColumnId = Math.max(metadata['last-column-id'], highestFieldId(base));
  changes.forEach((change, i) => {
    const where = `change ${i + 1} (${String((change as { op?: unknown }).op)})`;
    switch (change.op) {
      case 'add-column': {
        if (typeof change.name !== 'string' || change.name.length === 0) throw new SchemaEvolutionError(`${where}: name must be a non-empty string`);
        // v2 has no default values: a new required column would make every existing row invalid.
        if ((change as { required?: unknown }).required === true) throw new SchemaEvolutionError(`${where}: column ${JSON.stringify(change.name)} cannot be added as required; existing rows have no value for it`);
        const other = clash(fields, change.name);
        if (other) throw new SchemaEvolutionError(`${where}: a column named ${JSON.stringify(other.name)} already exists`);
        lastColumnId += 1;
        const field: NestedField = { id: lastColumnId, name: change.name, required: false, type: primitive(change.type, where) };
        if (change.doc !== undefined) field.doc = change.doc;
        fields = [...fields, field];
        return;
      }
      case 'rename-column': {
        const field = findByName(fields, change.from);
        if (!field) throw new SchemaEvolutionError(`${where}: no column named ${JSON.stringify(change.from)}`);
        if (typeof change.to !== 'string' || change.to.length === 0) throw new SchemaEvolutionError(`${where}: the new name must be a non-empty string`);
        const other = clash(fields, change.to, field.id);
        if (other) throw new SchemaEvolutionError(`${where}: cannot rename ${JSON.stringify(change.from)} to ${JSON.stringify(change.to)}: column ${JSON.stringify(other.name)} exists`);
        fields = fields.map((f) => (f.id === field.id ? { ...f, name: change.to } : f));
        return;
      }
      case 'widen-column': {
        const field = findByName(fields, change.name);
        if (!field) throw new SchemaEvolutionError(`${where}: no column named ${JSON.stringify(change.name)}`);
        if (typeof field.type !== 'string') throw new SchemaEvolutionError(`${where}: column ${JSON.stringify(change.name)} is a ${field.type.type}; only primitive columns can be widened`);
        const to = primitive(change.type, where);
        if (!isAllowedPromotion(field.type, to)) {
          throw new SchemaEvolutionError(
            `${where}: changing ${JSON.stringify(change.name)} from ${field.type} to ${to} is not an allowed promotion (int→long, float→double, decimal(P,S)→decimal(P',S) with P'≥P)`,
          );
        }
        fields = fields.map((f) => (f.id === field.id ? { ...f, type: to } : f));
        return;
      }
      default:
        throw new SchemaEvolutionError(`${where}: unknown schema change; expected add-column, rename-column or widen-column`);
    }
  });
  const nextId = Math.max(...metadata.schemas.map((s) => s['schema-id'])) + 1;
  const schema: IcebergSchema = { type: 'struct', 'schema-id': nextId, fields };
  if (base['identifier-field-ids']) schema['identifier-field-ids'] = base['identifier-field-ids'];
  try {
    validateSchema(schema);
    // Every partition spec must still resolve (e.g. a rename onto a partition field's name is ambiguous).
    for (const spec of metadata['partition-specs']) resolvePartitionSpec(schema, spec);
  } catch (err) {
    throw new SchemaEvolutionError(`the evolved schema is invalid: ${(err as Error).message}`, { cause: err });
  }
  return schema;
}

function sameFields(a: IcebergSchema, b: IcebergSchema): boolean {
  return JSON.stringify(a.fields) === JSON.stringify(b.fields);
}

/**
 * Evolves the current schema and commits it as a new schema (metadata only: no snapshot, no data rewrite). Refused
 * changes throw SchemaEvolutionError before anything is written.
 */
export async function updateSchema(opts: UpdateSchemaOptions): Promise<UpdateSchemaResult> {
  if (opts.commitId !== undefined && (typeof opts.commitId !== 'string' || opts.commitId.length === 0)) throw new InvalidInputError('commitId must be a non-empty string');
  const result = await commitWithRetry({
    io: opts.io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    attempt: ({ base }) => {
      const current = currentSchema(base.metadata);
      if (opts.commitId !== undefined && base.metadata.properties[SCHEMA_COMMIT_ID_PROPERTY] === opts.commitId) return { next: null, value: current };
      const evolved = evolveSchema(base.metadata, opts.changes);
      if (sameFields(evolved, current)) return { next: null, value: current };
      const updates: TableUpdate[] = [
        { action: 'add-schema', schema: evolved },
        { action: 'set-current-schema', 'schema-id': -1 },
        ...(opts.commitId !== undefined ? [{ action: 'set-properties' as const, updates: { [SCHEMA_COMMIT_ID_PROPERTY]: opts.commitId } }] : []),
      ];
      const next = applyUpdates(base.metadata, updates);
      return { next, value: currentSchema(next) };
    },
  });
  return { schema: result.value, schemaId: result.value['schema-id'], metadataLocation: result.table.metadataLocation, alreadyCommitted: !result.committed };
}
