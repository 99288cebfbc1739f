// GET /v1/datasets: the catalogue of published datasets a consumer can query.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { errorResponses } from '../../schemas.js';

export function datasetsRoute(market: Market): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/datasets',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Published datasets with their columns, records, price and cohort minimum',
          response: {
            200: Type.Object({
              datasets: Type.Array(
                Type.Object({
                  name: Type.String(),
                  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
                  records: Type.Integer(),
                  price: Type.Union([Type.Object({ amount: Type.Number(), currency: Type.String() }), Type.Null()]),
                  minCohort: Type.Integer(),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => ({ datasets: await market.datasets(principalOf(request).orgId) }),
    );
  };
}
