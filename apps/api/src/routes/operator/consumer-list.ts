// GET /v1/consumers?status=: the buyers an operator decides on, with the use case each one documented.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

const Status = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]);

export function listConsumersRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/consumers',
      {
        schema: {
          tags: ['operator'],
          summary: 'Consumers with their use case and status, newest first (at most 500)',
          querystring: Type.Object({ status: Type.Optional(Status) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              consumers: Type.Array(
                Type.Object({
                  id: Uuid,
                  name: Type.String(),
                  status: Status,
                  useCase: Type.Object({ category: Type.String(), description: Type.String() }),
                  createdAt: Type.String(),
                  approvedAt: Type.Union([Type.String(), Type.Null()]),
                  /** Why the buyer was rejected or withdrawn; null otherwise. */
                  reason: Type.Union([Type.String(), Type.Null()]),
                  decidedAt: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { rows } = await deps.pool.query<{ id: string; name: string; status: 'pending' | 'approved' | 'rejected'; use_case_category: string; use_case_description: string; created_at: Date; approved_at: Date | null; decision_reason: string | null; decided_at: Date | null }>(
          `SELECT id, name, status, use_case_category, use_case_description, created_at, approved_at, decision_reason, decided_at FROM consumers
           WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT 500`,
          [request.query.status ?? null],
        );
        return {
          consumers: rows.map((r) => ({
            id: r.id,
            name: r.name,
            status: r.status,
            useCase: { category: r.use_case_category, description: r.use_case_description },
            createdAt: r.created_at.toISOString(),
            approvedAt: r.approved_at?.toISOString() ?? null,
            reason: r.decision_reason,
            decidedAt: r.decided_at?.toISOString() ?? null,
          })),
        };
      },
    );
  };
}
