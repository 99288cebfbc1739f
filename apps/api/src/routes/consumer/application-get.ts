// GET /v1/consumers/me: the caller's organisation's application and the operator's decision (any state: a consumer
// that is not approved yet reads it too).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { applicationOf } from '@atoll/market';
import { principalOf } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses } from '../../schemas.js';
import { Application } from './schemas.js';

export function getApplicationRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/consumers/me',
      {
        schema: {
          tags: ['consumer'],
          summary: "The caller's buyer application: use case, status (pending, approved, rejected) and the reason of a rejection",
          response: { 200: Application, ...errorResponses },
        },
      },
      async (request) => applicationOf(deps.pool, principalOf(request).orgId),
    );
  };
}
