// GET /v1/licenses/summary: a provider's licenses at a glance — live, expired, revoked and superseded counts, live
// licenses per table, the latest revocations and the latest erasures they caused in consumers' cleanrooms.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

const RECENT = 100;

export function licenseSummaryRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/licenses/summary',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['licenses'],
          summary: "The provider's license counts, live licenses per table, and the latest revocations and erasures (at most 100 each)",
          response: {
            200: Type.Object({
              counts: Type.Object({ live: Type.Integer(), expired: Type.Integer(), revoked: Type.Integer(), superseded: Type.Integer() }),
              liveByTable: Type.Array(Type.Object({ table: Type.String(), live: Type.Integer() })),
              revocations: Type.Array(Type.Object({ licenseId: Uuid, tid: Type.String(), revokedAt: Type.String() })),
              erasures: Type.Array(Type.Object({ tid: Type.String(), subscriptionId: Uuid, consumer: Uuid, records: Type.Integer(), removedAt: Type.String() })),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const providerId = principalOf(request).orgId;
        const counts = await deps.pool.query<{ live: string; expired: string; revoked: string; superseded: string }>(
          `SELECT count(*) FILTER (WHERE ended_at IS NULL AND expires_at > now()) AS live,
                  count(*) FILTER (WHERE ended_at IS NULL AND expires_at <= now()) AS expired,
                  count(*) FILTER (WHERE end_reason = 'revoked') AS revoked,
                  count(*) FILTER (WHERE end_reason = 'superseded') AS superseded
           FROM licenses WHERE provider_id = $1`,
          [providerId],
        );
        const byTable = await deps.pool.query<{ table_name: string; live: string }>(
          `SELECT t AS table_name, count(*) AS live FROM licenses, unnest(tables) AS t
           WHERE provider_id = $1 AND ended_at IS NULL AND expires_at > now() GROUP BY t ORDER BY t`,
          [providerId],
        );
        const revocations = await deps.pool.query<{ id: string; tid: string; ended_at: Date }>(
          `SELECT id, tid, ended_at FROM licenses WHERE provider_id = $1 AND end_reason = 'revoked' ORDER BY ended_at DESC LIMIT ${RECENT}`,
          [providerId],
        );
        const erasures = await deps.pool.query<{ tid: string; subscription_id: string; consumer_id: string; records: string; removed_at: Date }>(
          `SELECT tid, subscription_id, consumer_id, records, removed_at FROM erasures WHERE provider_id = $1 ORDER BY removed_at DESC LIMIT ${RECENT}`,
          [providerId],
        );
        const c = counts.rows[0]!;
        return {
          counts: { live: Number(c.live), expired: Number(c.expired), revoked: Number(c.revoked), superseded: Number(c.superseded) },
          liveByTable: byTable.rows.map((r) => ({ table: r.table_name, live: Number(r.live) })),
          revocations: revocations.rows.map((r) => ({ licenseId: r.id, tid: r.tid, revokedAt: r.ended_at.toISOString() })),
          erasures: erasures.rows.map((r) => ({ tid: r.tid, subscriptionId: r.subscription_id, consumer: r.consumer_id, records: Number(r.records), removedAt: r.removed_at.toISOString() })),
        };
      },
    );
  };
}
