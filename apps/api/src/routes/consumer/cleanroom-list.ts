// GET /v1/cleanrooms: the consumer's cleanrooms (no keys: a secret is shown once, at creation or rotation).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import type { Config } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function listCleanroomsRoute(config: Config, market: Market): FastifyPluginAsync {
  const endpoint = config.ATOLL_S3_PUBLIC_ENDPOINT ?? config.ATOLL_S3_ENDPOINT;
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/cleanrooms',
      {
        schema: {
          tags: ['consumer'],
          summary: "The consumer's cleanrooms, newest first (without keys)",
          response: {
            200: Type.Object({ cleanrooms: Type.Array(Type.Object({ id: Uuid, name: Type.String(), bucket: Type.String(), endpoint: Type.String(), region: Type.String(), createdAt: Type.String() })) }),
            ...errorResponses,
          },
        },
      },
      async (request) => ({ cleanrooms: (await market.cleanrooms(principalOf(request).orgId)).map((c) => ({ ...c, endpoint, region: config.ATOLL_S3_REGION })) }),
    );
  };
}
