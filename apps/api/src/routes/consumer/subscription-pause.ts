// POST /v1/subscriptions/{id}/pause: Pause updates: the delivered data stays, no runs and no charges until resumed.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { SubscriptionState } from './schemas.js';

export function pauseSubscriptionRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/subscriptions/:id/pause',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Pause updates: the delivered data stays, no runs and no charges until resumed',
          params: Type.Object({ id: Uuid }),
          response: { 200: SubscriptionState, ...errorResponses },
        },
      },
      async (request) => {
        const { id, status } = await market.pause(principalOf(request).orgId, request.params.id);
        request.log.info({ op: 'subscription.pause', subscriptionId: id }, 'subscription pause');
        return { id, status };
      },
    );
  };
}
