// Table routes of the Iceberg REST catalog: list, create, load (with vended credentials), exists, commit, drop (and
// purge), rename, register and …/credentials. Metadata goes out through stringifyJson so 64-bit snapshot ids stay exact.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  PgCatalogStore,
  PgViewCatalogStore,
  checkSortFields,
  createTable,
  dropTable,
  loadTable,
  newTableMetadata,
  parseSchema,
  parseSortFields,
  readTableMetadata,
  stringifyJson,
  tableMetadataToJson,
  TableNotFoundError,
  type IcebergSchema,
  type LoadedTable,
  type ObjectIO,
  type TableIdentifier,
  type TableMetadata,
} from '@atoll/iceberg';
import { commitJobs } from '@atoll/queue';
import type { ApiDeps } from '../../deps.js';
import { BUILT_IN_NAMESPACES, type CatalogAccess } from './access.js';
import { checkProperties, commitTable, parseCommitRequest } from './commit.js';
import { IcebergRestError, badRequest, forbidden, noSuchTable, renameTargetExists, tableAlreadyExists, viewHoldsName } from './errors.js';
import { chooseLocation, homeLocation, isChosenLocation, isWritersNamespace, requireWritable, resolveExistingIdentifier, resolveIdentifier, type ResolvedIdentifier } from './identifiers.js';
import { assignFreshIds, remapSpecSources } from './fresh-ids.js';
import { parsePartitionSpecJson } from './partition-spec.js';
import { commitCreateTransaction, isCreateTransaction } from './staged-create.js';
import { listIdentifiers } from './list-identifiers.js';
import type { PageTokens } from './pagination.js';
import { CommitTableResult, JsonObject, ListIdentifiersResult, LoadTableResult, Nullable, PageQuery, Properties, TAG, TableIdentifierSchema, TableParams, icebergErrors, orUndefined } from './schemas.js';

const DELEGATION_HEADER = 'x-iceberg-access-delegation';

function wantsVendedCredentials(request: FastifyRequest): boolean {
  const raw = request.headers[DELEGATION_HEADER];
  const values = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((v) => v.trim().toLowerCase());
  return values.includes('vended-credentials');
}

/** A table as the caller names it and as the catalog store keys it. */
type ResolvedTable = ResolvedIdentifier;

/**
 * How long a purge waits after the drop before it deletes: a commit that loaded the table before the drop finishes
 * (its compare-and-swap then fails, the row being gone) well within it, so no metadata file it writes is left behind.
 */
export const PURGE_SETTLE_MS = 5_000;

/** A key under one of the writers' namespaces (raw/…, published/…): no catalog-made table may live or be registered there. */
const isWritersKey = (key: string): boolean => BUILT_IN_NAMESPACES.some((ns) => key === ns || key.startsWith(`${ns}/`));
const S3_LOCATION_RE = /^s3:\/\/([^/]+)\/(.+?)\/*$/;

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json').send(stringifyJson(body));
}

export function tableRoutes(deps: Pick<ApiDeps, 'pool' | 'producer'>, io: ObjectIO, access: CatalogAccess, pages: PageTokens): FastifyPluginAsync {
  const catalog = new PgCatalogStore(deps.pool);

  const views = new PgViewCatalogStore(deps.pool);

  const resolve = (request: FastifyRequest, params: { namespace: string | string[]; table: string }): Promise<ResolvedTable> =>
    resolveIdentifier(access, request, { namespace: params.namespace, name: params.table });
  const resolveExisting = (request: FastifyRequest, params: { namespace: string | string[]; table: string }): Promise<ResolvedTable> =>
    resolveExistingIdentifier(access, request, { namespace: params.namespace, name: params.table }, noSuchTable);

  /** Tables and views share one identifier space: a new table cannot take a view's name. */
  async function requireNoView({ id, named }: ResolvedTable): Promise<void> {
    if ((await views.kindOf(id)) === 'view') throw viewHoldsName(named);
  }

  /** The table's metadata; a missing table is named as the caller named it, not by its key in the store. */
  async function load({ id, named }: ResolvedTable): Promise<LoadedTable> {
    try {
      return await loadTable({ io, catalog, id });
    } catch (err) {
      if (err instanceof TableNotFoundError) throw noSuchTable(named);
      throw err;
    }
  }

  async function tableResult(request: FastifyRequest, { scope, id, named }: ResolvedTable, loaded: { metadataLocation?: string; metadata: TableMetadata }): Promise<Record<string, unknown>> {
    const body: Record<string, unknown> = {
      ...(loaded.metadataLocation !== undefined ? { 'metadata-location': loaded.metadataLocation } : {}),
      metadata: tableMetadataToJson(loaded.metadata),
      config: {},
    };
    if (wantsVendedCredentials(request)) {
      const config = access.credentialConfig(await access.vend(scope, id.name, loaded.metadata.location));
      body.config = config;
      body['storage-credentials'] = [{ prefix: loaded.metadata.location, config }];
      request.log.info({ op: 'iceberg.credentials.vended', table: named, writable: scope.writable }, 'vended table credentials');
    }
    return body;
  }

  function requireCatalogOwned(id: TableIdentifier): void {
    if (isWritersNamespace(id.namespace)) throw forbidden(`tables in ${id.namespace[0]} belong to Atoll's writers and cannot be dropped, renamed or registered through the catalog`);
  }

  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/v1/namespaces/:namespace/tables',
      {
        schema: {
          tags: [TAG],
          summary: 'List the tables of a namespace',
          params: Type.Object({ namespace: TableParams.properties.namespace }),
          querystring: Type.Object(PageQuery),
          response: { 200: ListIdentifiersResult, ...icebergErrors },
        },
      },
      async (request) =>
        listIdentifiers({ access, pages, request, route: 'tables', namespace: request.params.namespace, query: request.query, list: (ns) => catalog.list(ns) }),
    );

    app.post(
      '/v1/namespaces/:namespace/tables',
      {
        schema: {
          tags: [TAG],
          summary: 'Create a table (operators, lake namespaces); its location is s3://<lake bucket>/<namespace levels>/<name>',
          description: 'Optional fields may be absent or null. When the default location still holds files (a table dropped without purge), the catalog picks a fresh one, s3://<lake bucket>/<namespace levels>/<name>-<uuid>.',
          params: Type.Object({ namespace: TableParams.properties.namespace }),
          body: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 128 }),
            location: Nullable(Type.String()),
            schema: JsonObject,
            'partition-spec': Nullable(JsonObject),
            'write-order': Nullable(JsonObject),
            'stage-create': Nullable(Type.Boolean()),
            properties: Nullable(Properties),
          }),
          response: { 200: LoadTableResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const target = await resolve(request, { namespace: request.params.namespace, table: body.name });
        const { scope, id, named } = target;
        requireWritable(scope);
        const home = homeLocation(scope, id.name);
        let schema: IcebergSchema;
        try {
          schema = parseSchema(body.schema, 'schema');
        } catch (err) {
          throw badRequest((err as Error).message);
        }
        // The client's ids are its own; the table's are numbered afresh, and the spec and sort order follow its columns.
        const { schema: freshSchema, ids } = assignFreshIds(schema);
        schema = freshSchema;
        const partitionSpec = parsePartitionSpecJson(remapSpecSources(orUndefined(body['partition-spec']), ids), schema, 'partition-spec');
        const order = orUndefined(body['write-order']);
        const sortOrder = order ? parseSortFields((remapSpecSources(order, ids) as { fields?: unknown }).fields, 'write-order') : [];
        checkSortFields(schema, sortOrder, 'write-order');
        // `format-version` is the spec's reserved property for the table's format (not stored among the properties);
        // Atoll writes v2 only, and answering another request with a v2 table would mislead the client.
        const { 'format-version': version, ...properties } = orUndefined(body.properties) ?? {};
        checkProperties(properties);
        if (version !== undefined && version !== '2') throw new IcebergRestError('UnsupportedOperationException', `format version ${version} is not supported; tables are format version 2`);
        if (await catalog.load(id)) throw tableAlreadyExists(named);
        await requireNoView(target);
        const location = await chooseLocation({ io, home, asked: orUndefined(body.location), what: `tables in ${id.namespace.join('.')}`, occupied: (detail) => tableAlreadyExists(named, detail) });
        if (body['stage-create']) {
          // Nothing is written: the commit that ends the client's transaction creates the table (staged-create.ts).
          request.log.info({ op: 'iceberg.table.staged', table: named }, 'table creation staged');
          return sendJson(reply, await tableResult(request, target, { metadata: newTableMetadata({ location, schema, partitionSpec, properties, sortOrder }) }));
        }
        const table = await createTable({ io, catalog, id, location, schema, partitionSpec, properties, sortOrder });
        request.log.info({ op: 'iceberg.table.created', table: named }, 'table created');
        return sendJson(reply, await tableResult(request, target, table));
      },
    );

    app.get(
      '/v1/namespaces/:namespace/tables/:table',
      {
        exposeHeadRoute: false,
        schema: {
          tags: [TAG],
          summary: 'Load a table: metadata location, metadata and, on X-Iceberg-Access-Delegation: vended-credentials, table-scoped S3 credentials',
          params: TableParams,
          headers: Type.Object({ 'x-iceberg-access-delegation': Type.Optional(Type.String()) }),
          querystring: Type.Object({ snapshots: Type.Optional(Type.String()) }),
          response: { 200: LoadTableResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const target = await resolveExisting(request, request.params);
        return sendJson(reply, await tableResult(request, target, await load(target)));
      },
    );

    app.head(
      '/v1/namespaces/:namespace/tables/:table',
      { schema: { tags: [TAG], summary: 'Whether a table exists (204) or not (404)', params: TableParams } },
      async (request, reply) => {
        const { id, named } = await resolveExisting(request, request.params);
        if (!(await catalog.load(id))) throw noSuchTable(named);
        return reply.status(204).send();
      },
    );

    app.get(
      '/v1/namespaces/:namespace/tables/:table/credentials',
      {
        schema: {
          tags: [TAG],
          summary: 'Fresh table-scoped S3 credentials (15 minutes) for a table the caller can load',
          params: TableParams,
          response: { 200: Type.Object({ 'storage-credentials': Type.Array(Type.Object({ prefix: Type.String(), config: Properties })) }), ...icebergErrors },
        },
      },
      async (request) => {
        const target = await resolveExisting(request, request.params);
        const { scope, id, named } = target;
        const table = await load(target);
        const config = access.credentialConfig(await access.vend(scope, id.name, table.metadata.location));
        request.log.info({ op: 'iceberg.credentials.vended', table: named, writable: scope.writable }, 'vended table credentials');
        return { 'storage-credentials': [{ prefix: table.metadata.location, config }] };
      },
    );

    app.post(
      '/v1/namespaces/:namespace/tables/:table',
      {
        schema: {
          tags: [TAG],
          summary: 'Commit updates to a table if every requirement holds (409 CommitFailedException otherwise)',
          description: 'Same compare-and-swap as Atoll\'s writers. Supported requirements: assert-create, assert-table-uuid, assert-ref-snapshot-id, assert-current-schema-id, assert-last-assigned-field-id, assert-last-assigned-partition-id, assert-default-spec-id, assert-default-sort-order-id. Supported updates: add-snapshot, set-snapshot-ref, remove-snapshot-ref, remove-snapshots, add-schema, set-current-schema, add-spec, set-default-spec, add-sort-order, set-default-sort-order, set-properties, remove-properties, assign-uuid (same uuid), upgrade-format-version (2), set-location (same location).',
          params: TableParams,
          body: Type.Object({
            identifier: Type.Optional(TableIdentifierSchema),
            requirements: Type.Optional(Type.Array(JsonObject)),
            updates: Type.Array(JsonObject),
          }),
          response: { 200: CommitTableResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const target = await resolveExisting(request, request.params);
        const { scope, id, named } = target;
        requireWritable(scope);
        const ident = request.body.identifier;
        if (ident && (ident.name !== id.name || ident.namespace.join('\u001f') !== scope.namespace.join('\u001f'))) throw badRequest('the identifier in the body names another table than the path');
        const parsed = parseCommitRequest(request.body);
        // assert-create on a table that does not exist yet ends a create transaction; on one that exists it fails as
        // any failed requirement does (commitTable).
        const creating = isCreateTransaction(parsed) && !(await catalog.load(id));
        if (creating) await requireNoView(target);
        // Only a table being created gets a location here; an existing one keeps its own (a renamed table's home
        // under its new name is neither where it lives nor subject to the key-room check).
        const home = creating ? homeLocation(scope, id.name) : undefined;
        const result = home
          ? await commitCreateTransaction({ io, catalog, id, request: parsed, defaultLocation: home, allowedLocation: (l) => isChosenLocation(l, home) })
          : await commitTable({ io, catalog, id, request: parsed });
        request.log.info({ op: 'iceberg.table.committed', table: named, metadataLocation: result.metadataLocation }, 'table committed');
        return sendJson(reply, { 'metadata-location': result.metadataLocation, metadata: tableMetadataToJson(result.metadata) });
      },
    );

    app.delete(
      '/v1/namespaces/:namespace/tables/:table',
      {
        schema: {
          tags: [TAG],
          summary: 'Drop a table from the catalog; with purgeRequested=true its files (data and metadata) are removed too, a few seconds later, once commits in flight have settled',
          params: TableParams,
          querystring: Type.Object({ purgeRequested: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' })) }),
          response: { 204: Type.Null(), ...icebergErrors },
        },
      },
      async (request, reply) => {
        const { scope, id, named } = await resolveExisting(request, request.params);
        requireWritable(scope);
        requireCatalogOwned(id);
        const purge = request.query.purgeRequested === 'true';
        if (purge) {
          // The api holds no delete right on the lake: the writer purges. Enqueued before the drop so a failure leaves the
          // table in place (the client retries); a purge whose table was not dropped after all finds its location still
          // in the catalog and deletes nothing.
          const { metadata } = await load({ scope, id, named });
          await deps.producer.enqueue(commitJobs.purge, { v: 1, namespace: id.namespace, name: id.name, location: metadata.location, tableUuid: metadata['table-uuid'] }, { delay: PURGE_SETTLE_MS });
        }
        if (!(await dropTable({ catalog, id }))) throw noSuchTable(named);
        request.log.info({ op: 'iceberg.table.dropped', table: named, purge }, 'table dropped');
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/v1/tables/rename',
      {
        schema: {
          tags: [TAG],
          summary: 'Rename a table, within or across lake namespaces (the catalog entry moves; its files stay where they are)',
          body: Type.Object({ source: TableIdentifierSchema, destination: TableIdentifierSchema }),
          response: { 204: Type.Null(), ...icebergErrors },
        },
      },
      async (request, reply) => {
        const source = await resolveExisting(request, { namespace: request.body.source.namespace, table: request.body.source.name });
        const destination = await resolve(request, { namespace: request.body.destination.namespace, table: request.body.destination.name });
        for (const t of [source, destination]) {
          requireWritable(t.scope);
          requireCatalogOwned(t.id);
        }
        const outcome = await catalog.rename(source.id, destination.id);
        if (outcome === 'taken') {
          if ((await views.kindOf(destination.id)) === 'view') throw renameTargetExists(source.named, destination.named, 'view');
          throw tableAlreadyExists(destination.named);
        }
        if (outcome === 'missing') throw noSuchTable(source.named);
        request.log.info({ op: 'iceberg.table.renamed', from: source.named, to: destination.named }, 'table renamed');
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/v1/namespaces/:namespace/register',
      {
        schema: {
          tags: [TAG],
          summary: 'Register an existing table by its metadata file (operators); the file and the table\'s location must lie in the lake bucket, outside the writers\' namespaces and any other table',
          params: Type.Object({ namespace: TableParams.properties.namespace }),
          body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }), 'metadata-location': Type.String({ minLength: 1, maxLength: 2048 }), overwrite: Nullable(Type.Boolean()) }),
          response: { 200: LoadTableResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const target = await resolve(request, { namespace: request.params.namespace, table: body.name });
        const { scope, id, named } = target;
        requireWritable(scope);
        requireCatalogOwned(id);
        if (body.overwrite) throw new IcebergRestError('UnsupportedOperationException', 'register with overwrite is not supported; drop the table first');
        const metadataLocation = body['metadata-location'];
        const file = S3_LOCATION_RE.exec(metadataLocation);
        if (!file || file[1] !== scope.bucket) throw forbidden(`${metadataLocation} is outside the warehouse this catalog owns (s3://${scope.bucket}/)`);
        if (!file[2]!.endsWith('.metadata.json')) throw badRequest(`${metadataLocation} is not a table metadata file (*.metadata.json)`);
        if (await catalog.load(id)) throw tableAlreadyExists(named);
        await requireNoView(target);
        const metadata = await readTableMetadata(io, metadataLocation).catch((err: unknown) => {
          throw badRequest(`${metadataLocation} cannot be registered: ${(err as Error).message}`);
        });
        const home = S3_LOCATION_RE.exec(metadata.location);
        if (!home || home[1] !== scope.bucket) throw forbidden(`the table's location ${metadata.location} is outside the warehouse this catalog owns (s3://${scope.bucket}/)`);
        const location = `s3://${home[1]}/${home[2]}`;
        if (!metadataLocation.startsWith(`${location}/metadata/`)) throw badRequest(`${metadataLocation} does not lie under its table's location ${location}/metadata/`);
        if (isWritersKey(home[2]!)) throw forbidden(`${location} belongs to Atoll's writers; their tables cannot be registered a second time`);
        // Two entries sharing one location would interleave their metadata versions.
        const { rows } = await deps.pool.query<{ namespace: string; name: string }>('SELECT namespace, name FROM iceberg_tables WHERE starts_with(metadata_location, $1) LIMIT 1', [`${location}/`]);
        if (rows[0]) throw new IcebergRestError('AlreadyExistsException', `location ${location} already belongs to table ${rows[0].namespace}.${rows[0].name}`);
        await catalog.create(id, metadataLocation);
        request.log.info({ op: 'iceberg.table.registered', table: named, metadataLocation }, 'table registered');
        return sendJson(reply, await tableResult(request, target, { metadataLocation, metadata }));
      },
    );
  };
}
