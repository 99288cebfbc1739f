// GET /v1/ingests/{id}/quarantine: the rows a bulk file's schema kept aside (bad_rows: quarantine), each with where it
// was and why, for the provider to fix and send again. Only the provider that sent the file sees them. Registered
// inside the provider scope (role checked there).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { principalOf } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function quarantineRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/ingests/:id/quarantine',
      {
        schema: {
          tags: ['provider'],
          summary: "The rows a file's schema kept aside, with their line or row and the reason",
          params: Type.Object({ id: Uuid }),
          querystring: Type.Object({
            limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'at most this many rows, 1 to 1000 (default 100)' })),
          }),
          response: {
            200: Type.Object({
              rows: Type.Array(Type.Object({ position: Type.String(), reason: Type.String(), row: Type.Record(Type.String(), Type.Unknown()) })),
              total: Type.Integer(),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const providerId = principalOf(request).orgId;
        const upload = await deps.pool.query<{ rows_quarantined: string | null }>('SELECT rows_quarantined FROM uploads WHERE id = $1 AND provider_id = $2', [request.params.id, providerId]);
        // Another provider's upload is as unknown as a missing one.
        if (!upload.rows[0]) throw new AtollError('NOT_FOUND', `no ingest ${request.params.id}`);
        const { rows } = await deps.pool.query<{ position: string; reason: string; row_data: Record<string, unknown> }>(
          `SELECT position, reason, row_data FROM quarantined_rows WHERE upload_id = $1 ORDER BY created_at, position LIMIT $2`,
          [request.params.id, request.query.limit ? Number(request.query.limit) : 100],
        );
        return { rows: rows.map((r) => ({ position: r.position, reason: r.reason, row: r.row_data })), total: Number(upload.rows[0].rows_quarantined ?? 0) };
      },
    );
  };
}
