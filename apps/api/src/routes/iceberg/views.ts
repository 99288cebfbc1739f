// View routes of the Iceberg REST catalog: list, create, load, exists, commit (replace, properties), drop and rename.
// Views are operator-made, in lake namespaces the catalog owns (not raw/published, whose names Atoll's writers take
// for tables); consumers may list and load views of their cleanroom namespaces, where nobody can create one. The
// rules (metadata, updates, the compare-and-swap) are @atoll/iceberg's, whose input errors the scope's error handler
// answers as 400 BadRequestException; this file authorizes.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  InvalidInputError,
  PgViewCatalogStore,
  commitViewUpdates,
  createView,
  dropView,
  loadView,
  parseSchema,
  parseViewRequirement,
  parseViewUpdate,
  parseViewVersion,
  stringifyJson,
  viewMetadataToJson,
  type LoadedView,
  type ObjectIO,
  type ViewRequirement,
  type ViewUpdate,
} from '@atoll/iceberg';
import type { ApiDeps } from '../../deps.js';
import type { CatalogAccess } from './access.js';
import { IcebergRestError, badRequest, forbidden, noSuchView, renameTargetExists, tableHoldsName, viewAlreadyExists } from './errors.js';
import { chooseLocation, homeLocation, isWritersNamespace, requireWritable, resolveExistingIdentifier, resolveIdentifier, type ResolvedIdentifier } from './identifiers.js';
import { listIdentifiers } from './list-identifiers.js';
import type { PageTokens } from './pagination.js';
import { JsonObject, ListIdentifiersResult, NamespaceParams, Nullable, PageQuery, Properties, TAG, TableIdentifierSchema, icebergErrors, orUndefined } from './schemas.js';

const ViewParams = Type.Object({ namespace: NamespaceParams.properties.namespace, view: Type.String({ minLength: 1, maxLength: 128 }) });
const LoadViewResult = Type.Object(
  {
    'metadata-location': Type.String(),
    metadata: Type.Object({}, { additionalProperties: true, description: 'view metadata as in the view\'s vN.metadata.json (view spec, format version 1)' }),
    config: Type.Optional(Properties),
  },
  { description: 'a view: its current metadata file and metadata' },
);

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json').send(stringifyJson(body));
}

const viewResult = (view: LoadedView): Record<string, unknown> => ({ 'metadata-location': view.metadataLocation, metadata: viewMetadataToJson(view.metadata), config: {} });

/**
 * A view version the view spec forbids (two queries for one dialect, no representation…) is the argument error Iceberg's
 * reference server answers with type IllegalArgumentException, which Iceberg Java rethrows as one; still a 400.
 */
function invalidArgument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidInputError) throw new IcebergRestError('IllegalArgumentException', err.message);
    throw err;
  }
}

export function viewRoutes(deps: Pick<ApiDeps, 'pool'>, io: ObjectIO, access: CatalogAccess, pages: PageTokens): FastifyPluginAsync {
  const views = new PgViewCatalogStore(deps.pool);

  const resolve = (request: FastifyRequest, params: { namespace: string | string[]; view: string }): Promise<ResolvedIdentifier> =>
    resolveIdentifier(access, request, { namespace: params.namespace, name: params.view }, 'view name');
  const resolveExisting = (request: FastifyRequest, params: { namespace: string | string[]; view: string }): Promise<ResolvedIdentifier> =>
    resolveExistingIdentifier(access, request, { namespace: params.namespace, name: params.view }, noSuchView, 'view name');

  /** Views may be made and changed by operators in namespaces the catalog owns. */
  function requireViewWritable({ scope, id }: ResolvedIdentifier): void {
    requireWritable(scope, 'cleanroom namespaces');
    if (isWritersNamespace(id.namespace)) throw forbidden(`${id.namespace[0]} belongs to Atoll's writers, whose tables take its names; views live in namespaces the catalog creates`);
  }

  async function load(target: ResolvedIdentifier): Promise<LoadedView> {
    const pointer = await views.load(target.id);
    if (!pointer) throw noSuchView(target.named);
    return loadView({ io, views, id: target.id });
  }

  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/v1/namespaces/:namespace/views',
      {
        schema: {
          tags: [TAG],
          summary: 'List the views of a namespace',
          params: Type.Object({ namespace: ViewParams.properties.namespace }),
          querystring: Type.Object(PageQuery),
          response: { 200: ListIdentifiersResult, ...icebergErrors },
        },
      },
      async (request) =>
        listIdentifiers({ access, pages, request, route: 'views', namespace: request.params.namespace, query: request.query, list: (ns) => views.list(ns) }),
    );

    app.post(
      '/v1/namespaces/:namespace/views',
      {
        schema: {
          tags: [TAG],
          summary: 'Create a view (operators, namespaces the catalog created); its metadata lives at s3://<lake bucket>/<namespace levels>/<name>/metadata/',
          description: 'Optional fields may be absent or null. The catalog numbers the schema (0) and the first version (1). A table or view of the same name is 409 AlreadyExistsException.',
          params: Type.Object({ namespace: ViewParams.properties.namespace }),
          body: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 128 }),
            location: Nullable(Type.String()),
            schema: JsonObject,
            'view-version': JsonObject,
            properties: Nullable(Properties),
          }),
          response: { 200: LoadViewResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const target = await resolve(request, { namespace: request.params.namespace, view: body.name });
        requireViewWritable(target);
        const schema = parseSchema(body.schema, 'schema');
        const version = invalidArgument(() => parseViewVersion(body['view-version'], 'view-version'));
        const holder = await views.kindOf(target.id);
        if (holder === 'view') throw viewAlreadyExists(target.named);
        if (holder === 'table') throw tableHoldsName(target.named);
        const location = await chooseLocation({
          io,
          home: homeLocation(target.scope, target.id.name),
          asked: orUndefined(body.location),
          what: `views in ${target.id.namespace.join('.')}`,
          occupied: (detail) => viewAlreadyExists(`${target.named} (${detail})`),
        });
        const view = await createView({ io, views, id: target.id, location, schema, version, properties: orUndefined(body.properties) ?? {} });
        request.log.info({ op: 'iceberg.view.created', view: target.named }, 'view created');
        return sendJson(reply, viewResult(view));
      },
    );

    app.get(
      '/v1/namespaces/:namespace/views/:view',
      {
        exposeHeadRoute: false,
        schema: { tags: [TAG], summary: 'Load a view: its metadata location and metadata', params: ViewParams, response: { 200: LoadViewResult, ...icebergErrors } },
      },
      async (request, reply) => sendJson(reply, viewResult(await load(await resolveExisting(request, request.params)))),
    );

    app.head(
      '/v1/namespaces/:namespace/views/:view',
      { schema: { tags: [TAG], summary: 'Whether a view exists (204) or not (404)', params: ViewParams } },
      async (request, reply) => {
        const target = await resolveExisting(request, request.params);
        if (!(await views.load(target.id))) throw noSuchView(target.named);
        return reply.status(204).send();
      },
    );

    app.post(
      '/v1/namespaces/:namespace/views/:view',
      {
        schema: {
          tags: [TAG],
          summary: 'Commit updates to a view (replace its version, change properties) if every requirement holds (409 CommitFailedException otherwise)',
          description:
            'Requirements: assert-view-uuid. Updates: add-schema, add-view-version, set-current-view-version (-1 = the version added in this commit), set-properties, remove-properties, assign-uuid (same uuid), upgrade-format-version (1), set-location (same location). A commit that lost a race with another is retried against the new view, so both land.',
          params: ViewParams,
          body: Type.Object({ identifier: Nullable(TableIdentifierSchema), requirements: Nullable(Type.Array(JsonObject)), updates: Type.Array(JsonObject) }),
          response: { 200: LoadViewResult, ...icebergErrors },
        },
      },
      async (request, reply) => {
        const target = await resolveExisting(request, request.params);
        requireViewWritable(target);
        const ident = request.body.identifier;
        if (ident && (ident.name !== target.id.name || ident.namespace.join('\u001f') !== target.scope.namespace.join('\u001f'))) throw badRequest('the identifier in the body names another view than the path');
        const requirements: ViewRequirement[] = (request.body.requirements ?? []).map((r, i) => parseViewRequirement(r, `requirements[${i}]`));
        const updates: ViewUpdate[] = request.body.updates.map((u, i) => parseViewUpdate(u, `updates[${i}]`));
        if (!(await views.load(target.id))) throw noSuchView(target.named);
        const view = await commitViewUpdates({ io, views, id: target.id, requirements, updates });
        request.log.info({ op: 'iceberg.view.committed', view: target.named, metadataLocation: view.metadataLocation }, 'view committed');
        return sendJson(reply, viewResult(view));
      },
    );

    app.delete(
      '/v1/namespaces/:namespace/views/:view',
      { schema: { tags: [TAG], summary: 'Drop a view from the catalog (its metadata files stay for orphan-file maintenance)', params: ViewParams, response: { 204: Type.Null(), ...icebergErrors } } },
      async (request, reply) => {
        const target = await resolveExisting(request, request.params);
        requireViewWritable(target);
        if (!(await dropView({ views, id: target.id }))) throw noSuchView(target.named);
        request.log.info({ op: 'iceberg.view.dropped', view: target.named }, 'view dropped');
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/v1/views/rename',
      {
        schema: {
          tags: [TAG],
          summary: 'Rename a view, within or across namespaces the catalog created (onto an existing table or view → 409)',
          body: Type.Object({ source: TableIdentifierSchema, destination: TableIdentifierSchema }),
          response: { 204: Type.Null(), ...icebergErrors },
        },
      },
      async (request, reply) => {
        const source = await resolveExisting(request, { namespace: request.body.source.namespace, view: request.body.source.name });
        const destination = await resolve(request, { namespace: request.body.destination.namespace, view: request.body.destination.name });
        for (const t of [source, destination]) requireViewWritable(t);
        if (!(await views.load(source.id))) throw noSuchView(source.named);
        const outcome = await views.rename(source.id, destination.id);
        if (outcome === 'taken') throw renameTargetExists(source.named, destination.named, (await views.kindOf(destination.id)) ?? 'view');
        if (outcome === 'missing') throw noSuchView(source.named);
        request.log.info({ op: 'iceberg.view.renamed', from: source.named, to: destination.named }, 'view renamed');
        return reply.status(204).send(null);
      },
    );
  };
}
