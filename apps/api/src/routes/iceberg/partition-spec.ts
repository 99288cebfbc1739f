// Partition specs as Iceberg REST clients send them (create-table); parsing and binding are @atoll/iceberg's, shared
// with the add-spec update.
import { InvalidInputError, bindPartitionSpec, parseUnboundPartitionSpec, type IcebergSchema, type PartitionSpec } from '@atoll/iceberg';
import { badRequest } from './errors.js';

const FIRST_PARTITION_FIELD_ID = 1000;

/** Parses a spec; missing field ids are assigned from 1000 (as the reference implementation does). */
export function parsePartitionSpecJson(json: unknown, schema: IcebergSchema, where: string, nextFieldId = FIRST_PARTITION_FIELD_ID): PartitionSpec {
  if (json === undefined || json === null) return { 'spec-id': 0, fields: [] };
  try {
    return bindPartitionSpec(parseUnboundPartitionSpec(json, where), schema, nextFieldId, where);
  } catch (err) {
    if (err instanceof InvalidInputError) throw badRequest(err.message);
    throw err;
  }
}
