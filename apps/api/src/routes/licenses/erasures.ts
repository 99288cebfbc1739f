// GET /v1/licenses/{id}/erasures: every delivery that held the subject's rows under this license and when they were
// erased from the cleanroom table and its files (SPEC §5; GDPR Art. 19). For the subject's device or the provider.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { erasuresOf } from '@atoll/market';
import { anyPrincipalOf, requireDeviceOrRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function erasuresRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/licenses/:id/erasures',
      {
        onRequest: requireDeviceOrRole(deps, { scope: 'license', roles: ['provider'] }),
        schema: {
          tags: ['licenses'],
          summary: "Where the subject's delivered rows were erased after this license ended (the subject's device or the provider)",
          params: Type.Object({ id: Uuid }),
          response: {
            200: Type.Object({
              erasures: Type.Array(
                Type.Object({
                  subscriptionId: Uuid,
                  consumer: Type.String({ description: 'the id of the consumer that held the rows' }),
                  records: Type.Integer(),
                  removedAt: Type.String({ description: 'when the rows left the table, its snapshots and its files' }),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const p = anyPrincipalOf(request);
        const { rows } = await deps.pool.query<{ provider_id: string; tid: string; created_at: Date }>('SELECT provider_id, tid, created_at FROM licenses WHERE id = $1', [request.params.id]);
        const lic = rows[0];
        const mine = lic && (p.kind === 'device' ? lic.provider_id === p.providerId && lic.tid === p.tid : lic.provider_id === p.orgId);
        // Someone else's license looks like no license.
        if (!lic || !mine) throw new AtollError('NOT_FOUND', `no license ${request.params.id}`);
        return { erasures: await erasuresOf(deps.pool, { providerId: lic.provider_id, tid: lic.tid, since: lic.created_at }) };
      },
    );
  };
}
