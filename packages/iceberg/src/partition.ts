// Partition specs: building them from column names, validating them against a schema, and typing partition tuples.
import { InvalidInputError } from './errors.js';
import type { PrimitiveValue } from './conversions.js';
import { externalValue, normalizeValue } from './conversions.js';
import type { Transform } from './transforms.js';
import { applyTransform, defaultPartitionFieldName, parseTransform, transformResultType, transformToString } from './transforms.js';
import type { IcebergSchema, PrimitiveType } from './types.js';
import { indexFields } from './types.js';

/** Partition field ids start here in v2 (the reference implementation's convention); 999 means "none yet". */
export const PARTITION_FIELD_ID_START = 1000;

export interface PartitionField {
  'source-id': number;
  'field-id': number;
  name: string;
  transform: string;
}

export interface PartitionSpec {
  'spec-id': number;
  fields: PartitionField[];
}

/** How callers ask for partitioning: a column name, a transform, optionally the partition field's name. */
export interface PartitionFieldInput {
  sourceColumn: string;
  transform: string;
  name?: string;
}

/** A partition value as callers pass it (see normalizeValue for accepted forms) and as planFiles returns it. */
export type PartitionValue = null | boolean | number | bigint | string | Uint8Array;

export interface ResolvedPartitionField {
  field: PartitionField;
  transform: Transform;
  sourceType: PrimitiveType;
  resultType: PrimitiveType;
}

export const UNPARTITIONED_SPEC: PartitionSpec = { 'spec-id': 0, fields: [] };

/** Builds a spec with fresh field ids (1000, 1001, …) from column names and transforms. */
export function buildPartitionSpec(schema: IcebergSchema, fields: PartitionFieldInput[], specId = 0): PartitionSpec {
  const spec: PartitionSpec = {
    'spec-id': specId,
    fields: fields.map((f, i) => {
      const column = schema.fields.find((c) => c.name === f.sourceColumn);
      if (!column) throw new InvalidInputError(`partition field ${i + 1}: no column named ${JSON.stringify(f.sourceColumn)}`);
      const transform = parseTransform(f.transform);
      return {
        'source-id': column.id,
        'field-id': PARTITION_FIELD_ID_START + i,
        name: f.name ?? defaultPartitionFieldName(transform, column.name),
        transform: transformToString(transform),
      };
    }),
  };
  resolvePartitionSpec(schema, spec);
  return spec;
}

/** Validates a spec against a schema and returns each field with its parsed transform and types. */
export function resolvePartitionSpec(schema: IcebergSchema, spec: PartitionSpec): ResolvedPartitionField[] {
  const byId = indexFields(schema);
  const names = new Set<string>();
  const ids = new Set<number>();
  return spec.fields.map((field) => {
    const source = byId.get(field['source-id']);
    if (!source) throw new InvalidInputError(`partition field ${field.name}: source id ${field['source-id']} is not in the schema`);
    if (source.inCollection) throw new InvalidInputError(`partition field ${field.name}: source ${source.path} is inside a list or map`);
    if (names.has(field.name)) throw new InvalidInputError(`partition field name ${field.name} is used twice`);
    if (ids.has(field['field-id'])) throw new InvalidInputError(`partition field id ${field['field-id']} is used twice`);
    names.add(field.name);
    ids.add(field['field-id']);
    // A partition name equal to a different column's name would make predicates ambiguous for readers.
    const clash = schema.fields.find((c) => c.name === field.name);
    if (clash && clash.id !== field['source-id']) {
      throw new InvalidInputError(`partition field name ${field.name} collides with column ${clash.name}`);
    }
    const transform = parseTransform(field.transform);
    const resultType = transformResultType(transform, source.field.type);
    return { field, transform, sourceType: source.field.type as PrimitiveType, resultType };
  });
}

/** Normalized partition tuple: one in-memory value (or null) per spec field, in spec order. */
export function normalizePartition(
  resolved: ResolvedPartitionField[],
  partition: Record<string, unknown> | undefined,
  where: string,
): Array<PrimitiveValue | null> {
  const given = partition ?? {};
  const known = new Set(resolved.map((r) => r.field.name));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw new InvalidInputError(`${where}: partition has unknown field ${JSON.stringify(key)}`);
  }
  return resolved.map((r) => {
    if (r.transform.kind === 'void') return null;
    const v = given[r.field.name];
    if (v === undefined) throw new InvalidInputError(`${where}: partition value for ${r.field.name} is missing (use null for a null partition)`);
    if (v === null) return null;
    return normalizeValue(r.resultType, v, `${where}: partition ${r.field.name}`);
  });
}

/** In-memory tuple → the record callers see (keyed by partition field name). */
export function externalPartition(resolved: ResolvedPartitionField[], tuple: Array<PrimitiveValue | null>): Record<string, PartitionValue> {
  const out: Record<string, PartitionValue> = {};
  resolved.forEach((r, i) => {
    const v = tuple[i];
    out[r.field.name] = v === null || v === undefined ? null : externalValue(r.resultType, v);
  });
  return out;
}

/** Two specs are equivalent when their fields match pairwise in source, transform and name (spec: Partitioning). */
export function specsEquivalent(a: PartitionSpec, b: PartitionSpec): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i];
      return g !== undefined && f['source-id'] === g['source-id'] && f.transform === g.transform && f.name === g.name;
    })
  );
}

/**
 * Partition values for one row (keyed by column name), ready for DataFile.partition: writers group rows by this
 * and write one file per distinct result.
 */
export function partitionForRow(schema: IcebergSchema, spec: PartitionSpec, row: Record<string, unknown>): Record<string, PartitionValue> {
  const resolved = resolvePartitionSpec(schema, spec);
  const byId = indexFields(schema);
  const tuple = resolved.map((r) => {
    const source = byId.get(r.field['source-id']);
    const raw = source ? row[source.field.name] : undefined;
    if (raw === undefined || raw === null) return null;
    return applyTransform(r.transform, r.sourceType, normalizeValue(r.sourceType, raw, `partition source ${source?.path ?? r.field['source-id']}`));
  });
  return externalPartition(resolved, tuple);
}
