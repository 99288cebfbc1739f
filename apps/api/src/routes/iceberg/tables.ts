// Table routes of the Iceberg REST catalog: list, create, load (with vended credentials), exists, commit, drop and
// …/credentials. Metadata goes out through stringifyJson so 64-bit snapshot ids stay exact.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  PgCatalogStore,
  createTable,
  dropTable,
  loadTable,
  parseSchema,
  stringifyJson,
  tableMetadataToJson,
  TableNotFoundError,
  type IcebergSchema,
  type LoadedTable,
  type ObjectIO,
  type TableIdentifier,
  type TableMetadata,
} from '@atoll/iceberg';
import type { ApiDeps } from '../../deps.js';
import { BUILT_IN_NAMESPACES, callerOf, parseNamespaceParam, validName, type CatalogAccess, type NamespaceScope } from './access.js';
import { checkProperties, commitTable, parseCommitRequest } from './commit.js';
import { IcebergRestError, badRequest, forbidden } from './errors.js';
import { parsePartitionSpecJson } from './partition-spec.js';
import { CommitTableResult, JsonObject, LoadTableResult, Properties, TAG, TableIdentifierSchema, TableParams, icebergErrors } from './schemas.js';

const DELEGATION_HEADER = 'x-iceberg-access-delegation';

function wantsVendedCredentials(request: FastifyRequest): boolean {
  const raw = request.headers[DELEGATION_HEADER];
  const values = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((v) => v.trim().toLowerCase());
  return values.includes('vended-credentials');
}

/** A table as the caller names it (`named`, for answers and logs) and as the catalog store keys it (`id`). */
interface ResolvedTable {
  scope: NamespaceScope;
  id: TableIdentifier;
  named: string;
}

const noSuchTable = (named: string): IcebergRestError => new IcebergRestError('NoSuchTableException', `table ${named} does not exist`);

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json').send(stringifyJson(body));
}

export function tableRoutes(deps: Pick<ApiDeps, 'pool'>, io: ObjectIO, access: CatalogAccess): FastifyPluginAsync {
  const catalog = new PgCatalogStore(deps.pool);

  /**
   * The table as the caller names it (`named`, for answers and logs) and as the catalog store keys it (`id`): they
   * differ for cleanrooms, whose `cr_<hex>` namespace is kept as ['cleanroom', <hex>].
   */
  async function resolve(request: FastifyRequest, params: { namespace: string; table: string }): Promise<ResolvedTable> {
    const ns = parseNamespaceParam(params.namespace);
    const scope = await access.scope(callerOf(request), ns);
    const name = validName('table name', params.table);
    return { scope, id: { namespace: scope.storageNamespace, name }, named: [...ns, name].join('.') };
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

  async function tableResult(request: FastifyRequest, { scope, id, named }: ResolvedTable, loaded: { metadataLocation: string; metadata: TableMetadata }): Promise<Record<string, unknown>> {
    const body: Record<string, unknown> = { 'metadata-location': loaded.metadataLocation, metadata: tableMetadataToJson(loaded.metadata), config: {} };
    if (wantsVendedCredentials(request)) {
      const config = access.credentialConfig(await access.vend(scope, id.name, loaded.metadata.location));
      body.config = config;
      body['storage-credentials'] = [{ prefix: loaded.metadata.location, config }];
      request.log.info({ op: 'iceberg.credentials.vended', table: named, writable: scope.writable }, 'vended table credentials');
    }
    return body;
  }

  function requireWritable(scope: NamespaceScope): void {
    if (!scope.writable) throw forbidden('cleanroom tables are read-only through the catalog');
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
          querystring: Type.Object({ pageToken: Type.Optional(Type.String()), pageSize: Type.Optional(Type.Integer({ minimum: 1 })) }),
          response: { 200: Type.Object({ identifiers: Type.Array(TableIdentifierSchema), 'next-page-token': Type.Optional(Type.Null()) }), ...icebergErrors },
        },
      },
      async (request) => {
        const ns = parseNamespaceParam(request.params.namespace);
        const scope = await access.scope(callerOf(request), ns);
        return { identifiers: (await catalog.list(scope.storageNamespace)).map((t) => ({ namespace: ns, name: t.name })) };
      },
    );

    app.post(
      '/v1/namespaces/:namespace/tables',
      {
        schema: {
          tags: [TAG],
          summary: 'Create a table (operators, lake namespaces); its location is s3://<lake bucket>/<namespace levels>/<name>',
          params: Type.Object({ namespace: TableParams.properties.namespace }),
          body: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 128 }),
            location: Type.Optional(Type.String()),
            schema: JsonObject,
            'partition-spec': Type.Optional(JsonObject),
            'write-order': Type.Optional(JsonObject),
            'stage-create': Type.Optional(Type.Boolean()),
            properties: Type.Optional(Properties),
          }),
          response: { 200: LoadTableResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const target = await resolve(request, { namespace: request.params.namespace, table: body.name });
        const { scope, id, named } = target;
        requireWritable(scope);
        if (body['stage-create']) throw new IcebergRestError('UnsupportedOperationException', 'staged table creation is not supported; create the table, then commit');
        const location = `s3://${scope.bucket}/${scope.tableKey(id.name)}`;
        if (body.location !== undefined && body.location.replace(/\/+$/, '') !== location) throw badRequest(`tables in ${id.namespace.join('.')} live at ${location}; a different location cannot be chosen`);
        let schema: IcebergSchema;
        try {
          schema = parseSchema(body.schema, 'schema');
        } catch (err) {
          throw badRequest((err as Error).message);
        }
        const order = body['write-order'];
        if (order && Array.isArray(order.fields) && order.fields.length > 0) throw new IcebergRestError('UnsupportedOperationException', 'sort orders are not supported at creation; tables are unsorted');
        const partitionSpec = parsePartitionSpecJson(body['partition-spec'], schema, 'partition-spec');
        checkProperties(body.properties ?? {});
        const table = await createTable({ io, catalog, id, location, schema, partitionSpec, properties: body.properties ?? {} });
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
        const target = await resolve(request, request.params);
        return sendJson(reply, await tableResult(request, target, await load(target)));
      },
    );

    app.head(
      '/v1/namespaces/:namespace/tables/:table',
      { schema: { tags: [TAG], summary: 'Whether a table exists (204) or not (404)', params: TableParams } },
      async (request, reply) => {
        const { id, named } = await resolve(request, request.params);
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
        const target = await resolve(request, request.params);
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
        const { scope, id, named } = await resolve(request, request.params);
        requireWritable(scope);
        const ident = request.body.identifier;
        if (ident && (ident.name !== id.name || ident.namespace.join('\u001f') !== scope.namespace.join('\u001f'))) throw badRequest('the identifier in the body names another table than the path');
        const result = await commitTable({ io, catalog, id, request: parseCommitRequest(request.body) });
        request.log.info({ op: 'iceberg.table.committed', table: named, metadataLocation: result.metadataLocation }, 'table committed');
        return sendJson(reply, { 'metadata-location': result.metadataLocation, metadata: tableMetadataToJson(result.metadata) });
      },
    );

    app.delete(
      '/v1/namespaces/:namespace/tables/:table',
      {
        schema: {
          tags: [TAG],
          summary: 'Drop a table from the catalog (files stay for orphan-file maintenance; purge is not supported)',
          params: TableParams,
          querystring: Type.Object({ purgeRequested: Type.Optional(Type.Boolean()) }),
          response: { 204: Type.Null(), ...icebergErrors },
        },
      },
      async (request, reply) => {
        const { scope, id, named } = await resolve(request, request.params);
        requireWritable(scope);
        if (id.namespace.length === 1 && (BUILT_IN_NAMESPACES as readonly string[]).includes(id.namespace[0]!)) {
          throw forbidden(`tables in ${id.namespace[0]} belong to Atoll's writers and cannot be dropped through the catalog`);
        }
        if (request.query.purgeRequested) throw new IcebergRestError('UnsupportedOperationException', 'purge is not supported: the api holds no delete right on the lake; drop without purge');
        if (!(await dropTable({ catalog, id }))) throw noSuchTable(named);
        request.log.info({ op: 'iceberg.table.dropped', table: named }, 'table dropped');
        return reply.status(204).send(null);
      },
    );

  };
}
