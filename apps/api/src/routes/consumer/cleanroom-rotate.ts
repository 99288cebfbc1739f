// POST /v1/cleanrooms/{id}/credentials: a new key for the cleanroom; the old one stops working.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import type { Config } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { CleanroomKey } from './schemas.js';

export function rotateCleanroomKeyRoute(config: Config, market: Market): FastifyPluginAsync {
  const endpoint = config.ATOLL_S3_PUBLIC_ENDPOINT ?? config.ATOLL_S3_ENDPOINT;
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/cleanrooms/:id/credentials',
      {
        schema: {
          tags: ['consumer'],
          summary: "Rotate the cleanroom's access key; the old key stops working",
          params: Type.Object({ id: Uuid }),
          response: { 200: CleanroomKey, ...errorResponses },
        },
      },
      async (request) => {
        const key = await market.rotateCleanroomKey(principalOf(request).orgId, request.params.id);
        request.log.info({ op: 'cleanroom.key.rotated', cleanroomId: key.id }, 'cleanroom key rotated');
        return { ...key, endpoint, region: config.ATOLL_S3_REGION };
      },
    );
  };
}
