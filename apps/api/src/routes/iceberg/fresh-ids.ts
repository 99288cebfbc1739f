// Fresh field ids for a table being created, as Iceberg's reference catalog assigns them (TypeUtil.assignFreshIds):
// a new table's columns are numbered from 1 whatever ids the client sent, each struct's fields before their children,
// a list's element and a map's key and value before their own children. Iceberg Java sends the ids of the schema it
// was given (they may start anywhere) and expects the loaded table to carry the fresh ones.
import type { IcebergSchema, IcebergType, NestedField } from '@atoll/iceberg';

export interface FreshSchema {
  schema: IcebergSchema;
  /** Old id → new id, for re-pointing the partition spec's and sort order's source ids. */
  ids: Map<number, number>;
}

export function assignFreshIds(schema: IcebergSchema): FreshSchema {
  let last = 0;
  const ids = new Map<number, number>();
  const next = (old: number): number => {
    const id = ++last;
    ids.set(old, id);
    return id;
  };
  const fresh = (type: IcebergType): IcebergType => {
    if (typeof type === 'string') return type;
    if (type.type === 'struct') return { ...type, fields: freshFields(type.fields) };
    if (type.type === 'list') {
      const elementId = next(type['element-id']);
      return { ...type, 'element-id': elementId, element: fresh(type.element) };
    }
    const keyId = next(type['key-id']);
    const valueId = next(type['value-id']);
    return { ...type, 'key-id': keyId, 'value-id': valueId, key: fresh(type.key), value: fresh(type.value) };
  };
  const freshFields = (fields: NestedField[]): NestedField[] => {
    const newIds = fields.map((f) => next(f.id));
    return fields.map((f, i) => ({ ...f, id: newIds[i]!, type: fresh(f.type) }));
  };
  const fields = freshFields(schema.fields);
  const out: IcebergSchema = { ...schema, 'schema-id': 0, fields };
  if (schema['identifier-field-ids']) out['identifier-field-ids'] = schema['identifier-field-ids'].map((id) => ids.get(id) ?? id);
  return { schema: out, ids };
}

/** The spec with its source ids moved to the fresh ones (an unknown id stays, and fails resolution with its own error). */
export function remapSpecSources(spec: unknown, ids: Map<number, number>): unknown {
  if (typeof spec !== 'object' || spec === null || !Array.isArray((spec as { fields?: unknown }).fields)) return spec;
  const s = spec as { fields: unknown[] };
  return {
    ...s,
    fields: s.fields.map((f) => {
      if (typeof f !== 'object' || f === null) return f;
      const source = (f as { 'source-id'?: unknown })['source-id'];
      return typeof source === 'number' && ids.has(source) ? { ...f, 'source-id': ids.get(source) } : f;
    }),
  };
}

