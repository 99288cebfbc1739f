// Namespace routes of the Iceberg REST catalog: list, create, load, exists, drop and property updates.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../../deps.js';
import { BUILT_IN_NAMESPACES, CLEANROOM_LEVEL, CLEANROOM_NAMESPACE_PREFIX, callerOf, isCleanroomNamespace, noSuchNamespace, parseNamespaceParam, validName, type CatalogAccess, type Caller } from './access.js';
import { IcebergRestError, forbidden, namespaceAlreadyExists, namespaceNotEmpty } from './errors.js';
import { requireKeyRoom } from './identifiers.js';
import { listingOf, nextPageTokenField, type PageTokens } from './pagination.js';
import { NAMESPACE_PARAM_MAX, Namespace, NamespaceParams, NextPageToken, Nullable, PageQuery, Properties, TAG, icebergErrors, orUndefined } from './schemas.js';

function requireOperator(caller: Caller): void {
  if (caller.kind !== 'operator') throw forbidden('only operators manage namespaces; a consumer\'s namespaces are its cleanrooms');
}

const isBuiltIn = (ns: string[]): boolean => ns.length === 1 && (BUILT_IN_NAMESPACES as readonly string[]).includes(ns[0]!);

export function namespaceRoutes(deps: Pick<ApiDeps, 'pool'>, access: CatalogAccess, pages: PageTokens): FastifyPluginAsync {
  /** The namespace's properties if the caller can see it (itself, or as the parent of one it can see). */
  async function visible(caller: Caller, ns: string[]): Promise<Record<string, string>> {
    try {
      const scope = await access.scope(caller, ns);
      return (await access.namespaceRow(scope.namespace))?.properties ?? {};
    } catch (err) {
      if (err instanceof IcebergRestError && err.type === 'NoSuchNamespaceException' && (await access.isImplied(caller, ns))) return {};
      throw err;
    }
  }

  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/v1/namespaces',
      {
        schema: {
          tags: [TAG],
          summary: 'List namespaces (children of `parent`, or top-level ones)',
          querystring: Type.Object({ parent: Type.Optional(Type.String({ maxLength: NAMESPACE_PARAM_MAX })), ...PageQuery }),
          response: { 200: Type.Object({ namespaces: Type.Array(Namespace), 'next-page-token': NextPageToken }), ...icebergErrors },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const parent = request.query.parent ? parseNamespaceParam(request.query.parent) : [];
        if (parent.length > 0) await visible(caller, parent);
        // Levels joined by 0x1F sort like the level lists and cannot collide (names never hold 0x1F).
        const keyOf = (ns: string[]): string => ns.join('\u001f');
        const sorted = (await access.childNamespaces(caller, parent)).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
        const page = pages.page({ listing: listingOf('namespaces', caller, parent), sorted, keyOf, pageToken: request.query.pageToken, pageSize: request.query.pageSize });
        return { namespaces: page.items, ...nextPageTokenField(page) };
      },
    );

    app.post(
      '/v1/namespaces',
      {
        schema: {
          tags: [TAG],
          summary: 'Create a lake namespace (operators); its tables live under s3://<lake bucket>/<level>/…/<table>',
          body: Type.Object({ namespace: Namespace, properties: Nullable(Properties) }),
          response: { 200: Type.Object({ namespace: Namespace, properties: Properties }), ...icebergErrors },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        requireOperator(caller);
        const ns = request.body.namespace.map((l) => validName('namespace level', l));
        if (isCleanroomNamespace(ns)) {
          throw new IcebergRestError('BadRequestException', `namespaces named ${CLEANROOM_LEVEL} or starting with ${CLEANROOM_NAMESPACE_PREFIX} are reserved for cleanrooms`);
        }
        if (isBuiltIn(ns)) throw namespaceAlreadyExists(ns.join('.'));
        // Its tables live under <levels>/<name>: a namespace with no room left for even a one-letter name is refused now.
        requireKeyRoom(`${ns.join('/')}/t`, 'a table of this namespace');
        const properties = orUndefined(request.body.properties) ?? {};
        const res = await deps.pool.query('INSERT INTO iceberg_namespaces (namespace, properties) VALUES ($1, $2) ON CONFLICT (namespace) DO NOTHING', [ns.join('.'), properties]);
        if (res.rowCount !== 1) throw namespaceAlreadyExists(ns.join('.'));
        request.log.info({ op: 'iceberg.namespace.created', namespace: ns.join('.') }, 'namespace created');
        return { namespace: ns, properties };
      },
    );

    app.get(
      '/v1/namespaces/:namespace',
      {
        exposeHeadRoute: false,
        schema: {
          tags: [TAG],
          summary: 'Load a namespace with its properties',
          params: NamespaceParams,
          response: { 200: Type.Object({ namespace: Namespace, properties: Properties }), ...icebergErrors },
        },
      },
      async (request) => {
        const ns = parseNamespaceParam(request.params.namespace);
        return { namespace: ns, properties: await visible(callerOf(request), ns) };
      },
    );

    app.head(
      '/v1/namespaces/:namespace',
      { schema: { tags: [TAG], summary: 'Whether a namespace exists (204) or not (404)', params: NamespaceParams } },
      async (request, reply) => {
        await visible(callerOf(request), parseNamespaceParam(request.params.namespace));
        return reply.status(204).send();
      },
    );

    app.delete(
      '/v1/namespaces/:namespace',
      { schema: { tags: [TAG], summary: 'Drop an empty namespace the operator created', params: NamespaceParams, response: { 204: Type.Null(), ...icebergErrors } } },
      async (request, reply) => {
        const caller = callerOf(request);
        requireOperator(caller);
        const ns = parseNamespaceParam(request.params.namespace);
        await access.scope(caller, ns);
        if (isBuiltIn(ns)) throw forbidden(`namespace ${ns.join('.')} belongs to Atoll's writers and cannot be dropped`);
        const key = ns.join('.');
        const res = await deps.pool.query(
          'DELETE FROM iceberg_namespaces WHERE namespace = $1 AND NOT EXISTS (SELECT 1 FROM iceberg_tables WHERE namespace = $1)',
          [key],
        );
        if (res.rowCount !== 1) {
          if (await access.lakeNamespaceExists(ns)) throw namespaceNotEmpty(key);
          throw noSuchNamespace(ns);
        }
        request.log.info({ op: 'iceberg.namespace.dropped', namespace: key }, 'namespace dropped');
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/v1/namespaces/:namespace/properties',
      {
        schema: {
          tags: [TAG],
          summary: 'Set and remove namespace properties',
          params: NamespaceParams,
          body: Type.Object({ removals: Nullable(Type.Array(Type.String())), updates: Nullable(Properties) }),
          response: { 200: Type.Object({ updated: Type.Array(Type.String()), removed: Type.Array(Type.String()), missing: Type.Array(Type.String()) }), ...icebergErrors },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        requireOperator(caller);
        const ns = parseNamespaceParam(request.params.namespace);
        await access.scope(caller, ns);
        const removals = request.body.removals ?? [];
        const updates = request.body.updates ?? {};
        const both = removals.filter((k) => k in updates);
        if (both.length > 0) throw new IcebergRestError('BadRequestException', `properties both updated and removed: ${both.join(', ')}`);
        const client = await deps.pool.connect();
        try {
          await client.query('BEGIN');
          // Built-in namespaces get their row on the first property change.
          await client.query(`INSERT INTO iceberg_namespaces (namespace) VALUES ($1) ON CONFLICT (namespace) DO NOTHING`, [ns.join('.')]);
          const { rows } = await client.query<{ properties: Record<string, string> }>('SELECT properties FROM iceberg_namespaces WHERE namespace = $1 FOR UPDATE', [ns.join('.')]);
          const props = { ...(rows[0]?.properties ?? {}) };
          const removed = removals.filter((k) => k in props);
          const missing = removals.filter((k) => !(k in props));
          for (const k of removed) delete props[k];
          Object.assign(props, updates);
          await client.query('UPDATE iceberg_namespaces SET properties = $2 WHERE namespace = $1', [ns.join('.'), props]);
          await client.query('COMMIT');
          return { updated: Object.keys(updates), removed, missing };
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      },
    );
  };
}
