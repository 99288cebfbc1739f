// Partition specs as Iceberg REST clients send them (create-table, add-spec), validated against the table's schema.
import { resolvePartitionSpec, type IcebergSchema, type PartitionSpec } from '@atoll/iceberg';
import { badRequest } from './errors.js';

const FIRST_PARTITION_FIELD_ID = 1000;

/** Parses a spec; missing field ids are assigned from 1000 (as the reference implementation does). */
export function parsePartitionSpecJson(json: unknown, schema: IcebergSchema, where: string, nextFieldId = FIRST_PARTITION_FIELD_ID): PartitionSpec {
  if (json === undefined || json === null) return { 'spec-id': 0, fields: [] };
  if (typeof json !== 'object' || Array.isArray(json)) throw badRequest(`${where} must be an object`);
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.fields)) throw badRequest(`${where}.fields must be an array`);
  let next = nextFieldId;
  const fields = o.fields.map((f: unknown, i) => {
    if (typeof f !== 'object' || f === null) throw badRequest(`${where}.fields[${i}] must be an object`);
    const fo = f as Record<string, unknown>;
    const sourceId = fo['source-id'];
    if (typeof sourceId !== 'number' || !Number.isInteger(sourceId)) throw badRequest(`${where}.fields[${i}].source-id must be an integer`);
    if (typeof fo.name !== 'string' || typeof fo.transform !== 'string') throw badRequest(`${where}.fields[${i}] needs a name and a transform`);
    const fieldId = typeof fo['field-id'] === 'number' && Number.isInteger(fo['field-id']) ? fo['field-id'] : next;
    next = Math.max(next, fieldId + 1);
    return { 'source-id': sourceId, 'field-id': fieldId, name: fo.name, transform: fo.transform };
  });
  const spec: PartitionSpec = { 'spec-id': typeof o['spec-id'] === 'number' ? o['spec-id'] : 0, fields };
  try {
    resolvePartitionSpec(schema, spec);
  } catch (err) {
    throw badRequest(`${where}: ${(err as Error).message}`);
  }
  return spec;
}
