// GET /v1/subscriptions/{id}: a subscription with its runs.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { Run } from './schemas.js';

export function getSubscriptionRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/subscriptions/:id',
      {
        schema: {
          tags: ['consumer'],
          summary: 'A subscription with its runs (newest first)',
          params: Type.Object({ id: Uuid }),
          response: {
            200: Type.Object({ id: Uuid, status: Type.String(), table: Type.String(), cleanroomId: Uuid, datasets: Type.Array(Type.String()), runs: Type.Array(Run) }),
            ...errorResponses,
          },
        },
      },
      async (request) => market.subscription(principalOf(request).orgId, request.params.id),
    );
  };
}
