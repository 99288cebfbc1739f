// POST /v1/subscriptions: buy an estimate; the initial load follows, then daily updates.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { SubscriptionState } from './schemas.js';

export function createSubscriptionRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/subscriptions',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Buy an estimate: the initial load into the cleanroom follows, then daily updates',
          body: Type.Object({ estimateId: Uuid }, { additionalProperties: false }),
          response: { 201: SubscriptionState, ...errorResponses },
        },
      },
      async (request, reply) => {
        const sub = await market.subscribe(principalOf(request).orgId, request.body.estimateId);
        request.log.info({ op: 'subscription.created', subscriptionId: sub.id }, 'subscription created');
        return reply.status(201).send(sub);
      },
    );
  };
}
