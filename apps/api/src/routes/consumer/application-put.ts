// PUT /v1/consumers/me: a consumer person applies for its organisation (the `atoll_org` of its account) with a use
// case; it starts pending, as POST /v1/consumers does for an operator. Applying again replaces a pending or rejected
// application; an approved organisation gets 409.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { apply } from '@atoll/market';
import { principalOf } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Name, UseCase } from '../../schemas.js';
import { Application } from './schemas.js';

export function putApplicationRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.put(
      '/v1/consumers/me',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Apply to buy, with a documented use case (or replace a pending or rejected application); an operator decides',
          body: Type.Object({ name: Name, useCase: UseCase }, { additionalProperties: false }),
          response: { 200: Application, 201: Application, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { application, created } = await apply(deps.pool, principalOf(request).orgId, request.body);
        request.log.info({ op: 'consumer.applied', consumerId: application.id, created }, 'consumer applied');
        return reply.status(created ? 201 : 200).send(application);
      },
    );
  };
}
