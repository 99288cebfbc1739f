// POST /v1/estimates: what a SELECT over published datasets would deliver, counted over licensed rows only (SPEC §6).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Market } from '@atoll/market';
import { principalOf } from '../../auth.js';
import { ErrorResponse, errorResponses, Identifier, Uuid } from '../../schemas.js';

export function estimateRoute(market: Market, maxQueryLength: number): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/estimates',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Estimate a subscription: records, distinct licensed subjects, update rate, a sample and the price',
          description:
            'Only rows whose subject holds a live license for that data, naming the consumer\'s approved use case and the consumer (or `*`), count. ' +
            'The query runs in the cleanroom worker\'s sandbox. `400 SQL_REJECTED` with the reason for anything but one allowed SELECT; ' +
            '`422 COHORT_TOO_SMALL` under the minimum of distinct subjects; `422 DATASET_NOT_PRICED` for a dataset without a price.',
          body: Type.Object({ cleanroomId: Uuid, table: Identifier, sql: Type.String({ minLength: 1, maxLength: maxQueryLength }) }, { additionalProperties: false }),
          response: {
            201: Type.Object({
              id: Uuid,
              records: Type.Integer(),
              distinctSubjects: Type.Integer(),
              monthlyUpdateRate: Type.Number({ description: 'records a month, from the datasets\' last 30 days of snapshots scaled by the query\'s selectivity' }),
              sample: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 10 }),
              price: Type.Object({ initial: Type.Number(), monthly: Type.Number(), currency: Type.String() }),
              datasets: Type.Array(Type.String(), { description: 'the datasets the query reads' }),
            }),
            422: ErrorResponse,
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const estimate = await market.estimate(principalOf(request).orgId, request.body);
        request.log.info({ op: 'estimate.created', estimateId: estimate.id, records: estimate.records, subjects: estimate.distinctSubjects }, 'estimate computed');
        return reply.status(201).send(estimate);
      },
    );
  };
}
