// Create transactions (the spec's staged create): `stage-create: true` answers the new table's metadata without
// creating anything; the client then commits with `assert-create` and the updates that describe the table (assign-uuid,
// add-schema, add-spec, set-location, set-properties, …) followed by its own (an add-snapshot for CREATE TABLE AS
// SELECT). Iceberg Java, PyIceberg and Spark's CTAS and REPLACE paths use it.
import { createTable, parseSchema, type CatalogStore, type ObjectIO, type SortField, type TableIdentifier } from '@atoll/iceberg';
import { checkProperties, commitTable, type CommitRequest, type RestCommitResult } from './commit.js';
import { IcebergRestError, badRequest } from './errors.js';
import { parsePartitionSpecJson } from './partition-spec.js';

/** Updates Iceberg clients put first in a create transaction, describing the table; the rest are applied after. */
const CREATE_ACTIONS = new Set([
  'assign-uuid',
  'upgrade-format-version',
  'add-schema',
  'set-current-schema',
  'add-spec',
  'set-default-spec',
  'add-sort-order',
  'set-default-sort-order',
  'set-location',
  'set-properties',
]);

export const isCreateTransaction = (request: CommitRequest): boolean => request.requirements.some((r) => r.type === 'assert-create');

/**
 * Creates the table from the leading create updates, then commits the remaining ones on top (under assert-table-uuid
 * of the new table). If that second step fails, the new entry is dropped again: the client sees the failure and no
 * half-made table stays in the catalog (its v1 metadata file stays for orphan-file maintenance).
 * `allowedLocation` says which locations this table may have (its namespace's default, or a fresh one beside it).
 */
export async function commitCreateTransaction(opts: {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  request: CommitRequest;
  defaultLocation: string;
  allowedLocation: (location: string) => boolean;
}): Promise<RestCommitResult> {
  const { io, catalog, id, request } = opts;
  const others = request.requirements.filter((r) => r.type !== 'assert-create');
  if (others.length > 0) throw badRequest('a create transaction (assert-create) cannot carry other requirements');
  let split = 0;
  while (split < request.updates.length && CREATE_ACTIONS.has(String(request.updates[split]!.action))) split++;
  const head = request.updates.slice(0, split);
  const rest = request.updates.slice(split);
  // Read as plain JSON: the create updates only describe the new table here (their parsing is the engine's).
  const last = (action: string): Record<string, unknown> | undefined => head.filter((u) => u.action === action).at(-1) as Record<string, unknown> | undefined;

  const version = last('upgrade-format-version')?.['format-version'];
  if (version !== undefined && version !== 2) throw new IcebergRestError('UnsupportedOperationException', `format version ${JSON.stringify(version)} is not supported; tables are v2`);
  const schemaUpdate = last('add-schema');
  if (!schemaUpdate) throw badRequest('a create transaction needs an add-schema update');
  let schema;
  try {
    schema = parseSchema(schemaUpdate.schema, 'add-schema.schema');
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  const spec = last('add-spec')?.spec;
  const partitionSpec = parsePartitionSpecJson(spec, schema, 'add-spec.spec');
  const order = last('add-sort-order')?.['sort-order'] as { fields: SortField[] } | undefined;
  const asked = last('set-location')?.location;
  const location = typeof asked === 'string' ? asked.replace(/\/+$/, '') : opts.defaultLocation;
  if (!opts.allowedLocation(location)) throw badRequest(`set-location ${location} is not this table's location (${opts.defaultLocation})`);
  const properties: Record<string, string> = {};
  for (const u of head.filter((x) => x.action === 'set-properties')) {
    if (typeof u.updates !== 'object' || u.updates === null) throw badRequest('set-properties.updates must be an object');
    for (const [k, v] of Object.entries(u.updates)) {
      if (typeof v !== 'string') throw badRequest(`set-properties.updates.${k} must be a string`);
      properties[k] = v;
    }
  }
  checkProperties(properties);

  const created = await createTable({ io, catalog, id, location, schema, partitionSpec, properties, ...(order ? { sortOrder: order.fields } : {}) });
  if (rest.length === 0) return { metadataLocation: created.metadataLocation, metadata: created.metadata };
  try {
    return await commitTable({ io, catalog, id, request: { requirements: [{ type: 'assert-table-uuid', uuid: created.metadata['table-uuid'] }], updates: rest } });
  } catch (err) {
    await catalog.drop(id).catch(() => undefined);
    throw err;
  }
}
