// POST /v1/subscriptions/{id}/resume: Resume daily updates.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { SubscriptionState } from './schemas.js';

export function resumeSubscriptionRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/subscriptions/:id/resume',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Resume daily updates',
          params: Type.Object({ id: Uuid }),
          response: { 200: SubscriptionState, ...errorResponses },
        },
      },
      async (request) => {
        const { id, status } = await market.resume(principalOf(request).orgId, request.params.id);
        request.log.info({ op: 'subscription.resume', subscriptionId: id }, 'subscription resume');
        return { id, status };
      },
    );
  };
}
