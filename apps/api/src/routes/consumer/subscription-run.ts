// POST /v1/subscriptions/{id}/run: Run an update now (refused while paused).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { SubscriptionState } from './schemas.js';

export function runSubscriptionRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/subscriptions/:id/run',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Run an update now (refused while paused)',
          params: Type.Object({ id: Uuid }),
          response: { 200: SubscriptionState, ...errorResponses },
        },
      },
      async (request) => {
        const { id, status } = await market.runNow(principalOf(request).orgId, request.params.id);
        request.log.info({ op: 'subscription.run', subscriptionId: id }, 'subscription run');
        return { id, status };
      },
    );
  };
}
