// GET /v1/subscriptions: the consumer's subscriptions; GET /v1/subscriptions/{id} has the runs.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function listSubscriptionsRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/subscriptions',
      {
        schema: {
          tags: ['consumer'],
          summary: "The consumer's subscriptions, newest first",
          response: {
            200: Type.Object({
              subscriptions: Type.Array(
                Type.Object({ id: Uuid, status: Type.String(), table: Type.String(), cleanroomId: Uuid, datasets: Type.Array(Type.String()), createdAt: Type.String() }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => ({ subscriptions: await market.subscriptions(principalOf(request).orgId) }),
    );
  };
}
