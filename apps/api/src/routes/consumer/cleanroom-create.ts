// POST /v1/cleanrooms: the consumer's own encrypted bucket and a key that reaches only it (SPEC §6).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import type { Config } from '../../deps.js';
import { errorResponses, Name } from '../../schemas.js';
import { CleanroomKey } from './schemas.js';

export function createCleanroomRoute(config: Config, market: Market): FastifyPluginAsync {
  const endpoint = config.ATOLL_S3_PUBLIC_ENDPOINT ?? config.ATOLL_S3_ENDPOINT;
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/cleanrooms',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Create a cleanroom: its own encrypted bucket and an access key that reaches only that bucket (the secret is shown once)',
          body: Type.Object({ name: Name }, { additionalProperties: false }),
          response: { 201: CleanroomKey, ...errorResponses },
        },
      },
      async (request, reply) => {
        const key = await market.createCleanroom(principalOf(request).orgId, request.body.name);
        request.log.info({ op: 'cleanroom.created', cleanroomId: key.id, bucket: key.bucket }, 'cleanroom created');
        return reply.status(201).send({ ...key, endpoint, region: config.ATOLL_S3_REGION });
      },
    );
  };
}
