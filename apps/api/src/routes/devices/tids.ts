// POST /v1/users/tids: a provider learns the pseudonyms (TIDs) of its own user ids (SPEC §4).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { tidFor } from '@atoll/identity';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { errorResponses } from '../../schemas.js';
import { UserId } from './schemas.js';

export function tidsRoute(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/users/tids',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['provider'],
          summary: "The TIDs (pseudonyms) of this provider's user ids",
          body: Type.Object({ userIds: Type.Array(UserId, { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ tids: Type.Record(Type.String(), Type.String()) }), ...errorResponses },
        },
      },
      async (request) => {
        const providerId = principalOf(request).orgId;
        const tids: Record<string, string> = {};
        for (const u of request.body.userIds) tids[u] = tidFor(config.ATOLL_TID_KEY, providerId, u);
        return { tids };
      },
    );
  };
}
