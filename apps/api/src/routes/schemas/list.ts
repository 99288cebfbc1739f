// GET /v1/schemas?status=: table schemas and their state — a provider sees its own, an operator every provider's.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

const Status = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]);

export function listSchemasRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/schemas',
      {
        onRequest: requireRole(deps, 'provider', 'operator'),
        schema: {
          tags: ['provider', 'operator'],
          summary: "Table schemas with their state and, when rejected, why (provider: its own; operator: all), newest first (at most 500)",
          querystring: Type.Object({ status: Type.Optional(Status) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              schemas: Type.Array(
                Type.Object({
                  id: Uuid,
                  providerId: Uuid,
                  table: Type.String(),
                  dataset: Type.String(),
                  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String(), role: Type.Optional(Type.String()) })),
                  status: Status,
                  reason: Type.Union([Type.String(), Type.Null()]),
                  createdAt: Type.String(),
                  decidedAt: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const p = principalOf(request);
        const providerId = p.roles.includes('operator') ? null : p.orgId;
        const { rows } = await deps.pool.query<{
          id: string;
          provider_id: string;
          table_name: string;
          dataset: string;
          columns: Array<{ name: string; type: string; role?: string }>;
          status: 'pending' | 'approved' | 'rejected';
          reason: string | null;
          created_at: Date;
          decided_at: Date | null;
        }>(
          `SELECT id, provider_id, table_name, dataset, columns, status, reason, created_at, decided_at FROM table_schemas
           WHERE ($1::uuid IS NULL OR provider_id = $1) AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC LIMIT 500`,
          [providerId, request.query.status ?? null],
        );
        return {
          schemas: rows.map((r) => ({
            id: r.id,
            providerId: r.provider_id,
            table: r.table_name,
            dataset: r.dataset,
            columns: r.columns.map((c) => ({ name: c.name, type: c.type, ...(c.role ? { role: c.role } : {}) })),
            status: r.status,
            reason: r.reason,
            createdAt: r.created_at.toISOString(),
            decidedAt: r.decided_at?.toISOString() ?? null,
          })),
        };
      },
    );
  };
}
