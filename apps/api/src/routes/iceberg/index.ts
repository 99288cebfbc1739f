// The Iceberg REST catalog under /iceberg (SPEC §7): Keycloak bearer tokens, operators see the lake, consumers their
// cleanrooms; errors in the Iceberg REST error model; JSON bodies parsed with 64-bit integers kept exact.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { parseJson } from '@atoll/iceberg';
import { S3FileIO } from '@atoll/storage';
import { requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { CatalogAccess } from './access.js';
import { registerIcebergErrorHandling } from './errors.js';
import { namespaceRoutes } from './namespaces.js';
import { PageTokens } from './pagination.js';
import { TAG, icebergErrors } from './schemas.js';
import { tableRoutes } from './tables.js';
import { viewRoutes } from './views.js';

/** What GET /v1/config announces, as "<METHOD> <path>" strings (clients skip calls a server does not list). */
const ENDPOINTS = [
  'GET /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'HEAD /v1/{prefix}/namespaces/{namespace}',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials',
  'POST /v1/{prefix}/namespaces/{namespace}/register',
  'POST /v1/{prefix}/tables/rename',
  'GET /v1/{prefix}/namespaces/{namespace}/views',
  'POST /v1/{prefix}/namespaces/{namespace}/views',
  'GET /v1/{prefix}/namespaces/{namespace}/views/{view}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}',
  'POST /v1/{prefix}/namespaces/{namespace}/views/{view}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/views/{view}',
  'POST /v1/{prefix}/views/rename',
];

const ERROR_MODEL_NOTE =
  'Iceberg REST catalog (apache/iceberg open-api/rest-catalog-open-api.yaml). Errors use the Iceberg REST error model ' +
  '{ "error": { "message", "type", "code" } } (e.g. NoSuchTableException, CommitFailedException), not Atoll\'s ' +
  '{ "error": { "code", "message" } }. Authenticate with a Keycloak bearer token: operators see the lake, consumers their cleanrooms.';

export function icebergRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  const access = new CatalogAccess(config, deps);
  const io = new S3FileIO(deps.store);
  const region = config.ATOLL_S3_REGION;
  const pages = new PageTokens(config.ATOLL_TID_KEY);

  const catalog: FastifyPluginAsync = async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    registerIcebergErrorHandling(plain);
    // Snapshot ids are random 63-bit longs: JSON.parse would round them, so this scope parses bodies itself.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        // Iceberg Java sends `Content-Type: application/json` with no body on DELETE (and HEAD): no body, not bad JSON.
        // A route that needs a body still answers 400 through its schema.
        if ((body as string).trim() === '') {
          done(null, undefined);
          return;
        }
        done(null, parseJson(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    app.addHook('onRequest', requireRole(deps, 'operator', 'consumer'));
    // Say on every operation in /openapi.json that errors here follow Iceberg, not Atoll's { error: { code } }.
    app.addHook('onRoute', (route) => {
      const schema = (route.schema ?? {}) as { description?: string };
      schema.description = [schema.description, ERROR_MODEL_NOTE].filter(Boolean).join('\n\n');
      route.schema = schema;
    });

    app.get(
      '/v1/config',
      {
        schema: {
          tags: [TAG],
          summary: 'Catalog configuration: client defaults, server overrides and the supported endpoints',
          querystring: Type.Object({ warehouse: Type.Optional(Type.String()) }),
          response: {
            200: Type.Object({ defaults: Type.Record(Type.String(), Type.String()), overrides: Type.Record(Type.String(), Type.String()), endpoints: Type.Array(Type.String()) }),
            ...icebergErrors,
          },
        },
      },
      () => ({
        // Where the object store is, for clients that bring their own keys; vended credentials add the keys.
        defaults: {
          's3.endpoint': config.ATOLL_S3_PUBLIC_ENDPOINT ?? config.ATOLL_S3_ENDPOINT,
          's3.region': region,
          's3.path-style-access': 'true',
          'client.region': region,
        },
        // Namespace levels are joined with 0x1F in paths; table locations are the catalog's to choose.
        overrides: { 'namespace-separator': '%1F' },
        endpoints: ENDPOINTS,
      }),
    );

    await app.register(namespaceRoutes(deps, access, pages));
    await app.register(tableRoutes(deps, io, access, pages));
    await app.register(viewRoutes(deps, io, access, pages));
  };

  return async (app) => {
    await app.register(catalog, { prefix: '/iceberg' });
  };
}
