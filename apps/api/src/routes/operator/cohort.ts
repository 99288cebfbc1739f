// PUT /v1/datasets/{name}/cohort: an operator raises a dataset's minimum number of distinct subjects per delivery.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { DEFAULT_MIN_COHORT } from '@atoll/market';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Identifier } from '../../schemas.js';

export function cohortRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.put(
      '/v1/datasets/:name/cohort',
      {
        schema: {
          tags: ['operator'],
          summary: 'Set the least number of distinct subjects any estimate or run over this dataset must hold',
          params: Type.Object({ name: Identifier }),
          body: Type.Object({ minimum: Type.Integer({ minimum: DEFAULT_MIN_COHORT, maximum: 1_000_000 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ dataset: Identifier, minCohort: Type.Integer() }), ...errorResponses },
        },
      },
      async (request) => {
        const { name } = request.params;
        const r = await deps.pool.query('UPDATE datasets SET min_cohort = $2 WHERE name = $1', [name, request.body.minimum]);
        if (r.rowCount !== 1) throw new AtollError('NOT_FOUND', `no dataset ${name}`);
        request.log.info({ op: 'dataset.cohort.set', dataset: name, minimum: request.body.minimum }, 'cohort minimum set');
        return { dataset: name, minCohort: request.body.minimum };
      },
    );
  };
}
