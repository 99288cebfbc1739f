// Provider routes (SPEC §4): table schemas and the ingest log; the upload route (devices use it too) is in uploads/route.ts.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { formatProblem, recordKeyProblem } from '@atoll/lake';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import type { ApiMetrics } from '../../metrics.js';
import { Column, errorResponses, Identifier, Uuid } from '../../schemas.js';
import { bulkCredentialRoutes } from './bulk-credentials.js';
import { quarantineRoute } from './quarantine.js';

// The upload route accepts device tokens as well, so it lives in uploads/route.ts under its own auth hook.
export { apiUploadKey } from '../../uploads/batcher.js';

export function providerRoutes(config: Config, deps: ApiDeps, _metrics: ApiMetrics): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.addHook('onRequest', requireRole(deps, 'provider'));
    await app.register(bulkCredentialRoutes(config, deps));
    await app.register(quarantineRoute(deps));

    app.post(
      '/v1/schemas',
      {
        schema: {
          tags: ['provider'],
          summary: 'Propose a table schema; an operator approves it before uploads are accepted',
          body: Type.Object(
            {
              table: Identifier,
              dataset: Identifier,
              columns: Type.Array(Column, { minItems: 1, maxItems: 500 }),
              recordKey: Type.Optional(Type.Array(Identifier, { minItems: 1, maxItems: 32, description: 'Columns that identify a record: a row with the same values is published once, across batches. Default: the whole row.' })),
              badRows: Type.Optional(Type.Union([Type.Literal('reject'), Type.Literal('quarantine')], { description: 'reject (default): a bad row rejects its file. quarantine: bad rows are kept aside with their reason, good rows load.' })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ id: Uuid, status: Type.Literal('pending') }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const providerId = principalOf(request).orgId;
        const { table, dataset, columns, recordKey, badRows } = request.body;
        const names = new Set<string>();
        for (const c of columns) {
          if (names.has(c.name)) throw new AtollError('VALIDATION_FAILED', `column ${c.name} appears twice`);
          names.add(c.name);
          if (c.name === 'tid') throw new AtollError('VALIDATION_FAILED', 'the column name tid is reserved for the pseudonym Atoll adds');
          const problem = formatProblem(c);
          if (problem) throw new AtollError('VALIDATION_FAILED', problem);
        }
        if (columns.filter((c) => c.role === 'user_id').length > 1) throw new AtollError('VALIDATION_FAILED', 'at most one column may have the user_id role');
        if (columns.filter((c) => c.role === 'event_time').length > 1) throw new AtollError('VALIDATION_FAILED', 'at most one column may have the event_time role');
        const userId = columns.find((c) => c.role === 'user_id');
        if (userId && userId.type !== 'string') throw new AtollError('VALIDATION_FAILED', 'the user_id column must be a string');
        const keyProblem = recordKeyProblem(columns, recordKey);
        if (keyProblem) throw new AtollError('VALIDATION_FAILED', keyProblem);
        const id = randomUUID();
        try {
          await deps.pool.query(
            `INSERT INTO table_schemas (id, provider_id, table_name, dataset, columns, status, record_key, bad_rows) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)`,
            [id, providerId, table, dataset, JSON.stringify(columns), recordKey ?? null, badRows ?? 'reject'],
          );
        } catch (e) {
          if ((e as { code?: string }).code === '23505') throw new AtollError('CONFLICT', `table ${table} already has a pending or approved schema`);
          throw e;
        }
        request.log.info({ op: 'schema.proposed', schemaId: id, table }, 'schema proposed');
        return reply.status(201).send({ id, status: 'pending' as const });
      },
    );

    app.get(
      '/v1/ingests',
      {
        schema: {
          tags: ['provider'],
          summary: 'Recent ingested files and uploads with their status and, when rejected, why',
          querystring: Type.Object({
            table: Type.Optional(Identifier),
            status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('loaded'), Type.Literal('rejected')])),
            // Query strings are not coerced (app.ts): an integer arrives as text.
            limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|[1-4][0-9]{2}|500)$', description: 'at most this many rows, 1 to 500 (default 100)' })),
          }),
          response: {
            200: Type.Object({
              ingests: Type.Array(
                Type.Object({
                  id: Uuid,
                  table: Type.String(),
                  source: Type.String(),
                  /** Bulk files: the object key under the provider's prefix; null for api uploads. */
                  file: Type.Union([Type.String(), Type.Null()]),
                  status: Type.String(),
                  /** Rows loaded (api uploads: records received). */
                  records: Type.Union([Type.Integer(), Type.Null()]),
                  rowsRead: Type.Union([Type.Integer(), Type.Null()]),
                  /** Emails, IP addresses and phone numbers masked in free-text columns when the rows were published. */
                  maskedValues: Type.Union([Type.Integer(), Type.Null()]),
                  /** Rows kept aside (schemas with bad_rows: quarantine); see GET /v1/ingests/{id}/quarantine. */
                  rowsQuarantined: Type.Union([Type.Integer(), Type.Null()]),
                  reason: Type.Union([Type.String(), Type.Null()]),
                  createdAt: Type.String(),
                  finishedAt: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const providerId = principalOf(request).orgId;
        const { table, status, limit } = request.query;
        const { rows } = await deps.pool.query<{ id: string; table_name: string; source: string; staging_key: string; status: string; records: number | null; rows_read: string | null; masked_values: string | null; rows_quarantined: string | null; reason: string | null; created_at: Date; finished_at: Date | null }>(
          `SELECT id, table_name, source, staging_key, status, records, rows_read, masked_values, rows_quarantined, reason, created_at, finished_at FROM uploads
           WHERE provider_id = $1 AND ($2::text IS NULL OR table_name = $2) AND ($3::text IS NULL OR status = $3)
           ORDER BY created_at DESC LIMIT $4`,
          [providerId, table ?? null, status ?? null, limit ? Number(limit) : 100],
        );
        return {
          ingests: rows.map((r) => ({
            id: r.id,
            table: r.table_name,
            source: r.source,
            file: r.source === 'bulk' ? r.staging_key.slice(providerId.length + 1) : null,
            status: r.status,
            records: r.records,
            rowsRead: r.rows_read === null ? (r.source === 'api' ? r.records : null) : Number(r.rows_read),
            maskedValues: r.masked_values === null ? null : Number(r.masked_values),
            rowsQuarantined: r.rows_quarantined === null ? null : Number(r.rows_quarantined),
            reason: r.reason,
            createdAt: r.created_at.toISOString(),
            finishedAt: r.finished_at?.toISOString() ?? null,
          })),
        };
      },
    );
  };
}
