// Provider routes (SPEC §4–§5): table schemas, uploads into staging, and the ingest log.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { jobs } from '@atoll/queue';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import type { ApiMetrics } from '../../metrics.js';
import { Column, errorResponses, Identifier, Uuid, type ColumnSpec } from '../../schemas.js';
import { receiveJsonArray, receiveNdjson, type Received } from '../../uploads/receive.js';

/** API uploads live outside the provider-writable bulk prefix (<providerId>/…) so a provider cannot overwrite them. */
export function apiUploadKey(providerId: string, table: string, uploadId: string): string {
  return `_api/${providerId}/${table}/${uploadId}.ndjson`;
}

interface UploadRow {
  id: string;
  records: number;
}

export function providerRoutes(config: Config, deps: ApiDeps, metrics: ApiMetrics): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.addHook('onRequest', requireRole(deps, 'provider'));
    // NDJSON bodies are streamed to the handler, which enforces the size limit itself while parsing.
    app.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));

    app.post(
      '/v1/schemas',
      {
        schema: {
          tags: ['provider'],
          summary: 'Propose a table schema; an operator approves it before uploads are accepted',
          body: Type.Object(
            { table: Identifier, dataset: Identifier, columns: Type.Array(Column, { minItems: 1, maxItems: 500 }) },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ id: Uuid, status: Type.Literal('pending') }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const providerId = principalOf(request).orgId;
        const { table, dataset, columns } = request.body;
        const names = new Set<string>();
        for (const c of columns) {
          if (names.has(c.name)) throw new AtollError('VALIDATION_FAILED', `column ${c.name} appears twice`);
          names.add(c.name);
          if (c.name === 'tid') throw new AtollError('VALIDATION_FAILED', 'the column name tid is reserved for the pseudonym Atoll adds');
        }
        if (columns.filter((c) => c.role === 'user_id').length > 1) throw new AtollError('VALIDATION_FAILED', 'at most one column may have the user_id role');
        if (columns.filter((c) => c.role === 'event_time').length > 1) throw new AtollError('VALIDATION_FAILED', 'at most one column may have the event_time role');
        const userId = columns.find((c) => c.role === 'user_id');
        if (userId && userId.type !== 'string') throw new AtollError('VALIDATION_FAILED', 'the user_id column must be a string');
        const id = randomUUID();
        try {
          await deps.pool.query(
            `INSERT INTO table_schemas (id, provider_id, table_name, dataset, columns, status) VALUES ($1, $2, $3, $4, $5, 'pending')`,
            [id, providerId, table, dataset, JSON.stringify(columns)],
          );
        } catch (e) {
          if ((e as { code?: string }).code === '23505') throw new AtollError('CONFLICT', `table ${table} already has a pending or approved schema`);
          throw e;
        }
        request.log.info({ op: 'schema.proposed', schemaId: id, table }, 'schema proposed');
        return reply.status(201).send({ id, status: 'pending' as const });
      },
    );

    app.post(
      '/v1/uploads/:table',
      {
        bodyLimit: config.ATOLL_MAX_UPLOAD_BYTES,
        schema: {
          tags: ['provider'],
          summary: 'Upload records (NDJSON or a JSON array) into staging; they are ingested asynchronously',
          params: Type.Object({ table: Type.String({ maxLength: 63 }) }),
          headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
          response: { 202: Type.Object({ uploadId: Uuid, records: Type.Integer() }), 413: errorResponses[400], 415: errorResponses[400], ...errorResponses },
        },
      },
      async (request, reply) => {
        const providerId = principalOf(request).orgId;
        const { table } = request.params;
        const idempotencyKey = request.headers['idempotency-key'];
        const { rows } = await deps.pool.query<{ columns: ColumnSpec[] }>(
          `SELECT columns FROM table_schemas WHERE provider_id = $1 AND table_name = $2 AND status = 'approved'`,
          [providerId, table],
        );
        const columns = rows[0]?.columns;
        if (!columns) throw new AtollError('UNKNOWN_TABLE', `${table} (no approved schema for this provider)`);
        if (!columns.some((c) => c.role === 'user_id')) {
          throw new AtollError('BAD_REQUEST', `table ${table} has no user_id column; records for it are uploaded from devices`);
        }

        if (idempotencyKey) {
          const prior = await deps.pool.query<UploadRow>('SELECT id, records FROM uploads WHERE provider_id = $1 AND idempotency_key = $2', [providerId, idempotencyKey]);
          if (prior.rows[0]) return reply.status(202).send({ uploadId: prior.rows[0].id, records: prior.rows[0].records });
        }

        const uploadId = randomUUID();
        const dir = join(config.ATOLL_WORK_DIR, 'uploads');
        await mkdir(dir, { recursive: true });
        const file = join(dir, `${uploadId}.ndjson`);
        const limits = { maxBytes: config.ATOLL_MAX_UPLOAD_BYTES, maxRecords: config.ATOLL_MAX_UPLOAD_RECORDS };
        const key = apiUploadKey(providerId, table, uploadId);
        let stagingWritten = false;
        try {
          const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          let received: Received;
          if (type === 'application/x-ndjson') {
            received = await receiveNdjson(request.body as Readable, columns, limits, file);
          } else if (type === 'application/json') {
            received = await receiveJsonArray(request.body, columns, limits, file, Number(request.headers['content-length'] ?? 0));
          } else {
            throw new AtollError('UNSUPPORTED_MEDIA_TYPE', `${type || 'none'}; use application/x-ndjson or application/json`);
          }
          if (received.records === 0) throw new AtollError('EMPTY_UPLOAD');

          await deps.store.putFile(config.ATOLL_BUCKET_STAGING, key, file, { contentType: 'application/x-ndjson' });
          stagingWritten = true;
          const inserted = await deps.pool.query(
            `INSERT INTO uploads (id, provider_id, table_name, source, staging_key, records, bytes, idempotency_key, status)
             VALUES ($1, $2, $3, 'api', $4, $5, $6, $7, 'pending') ON CONFLICT DO NOTHING`,
            [uploadId, providerId, table, key, received.records, received.bytes, idempotencyKey ?? null],
          );
          if (inserted.rowCount !== 1) {
            // A concurrent request with the same Idempotency-Key won: answer with its upload, drop ours.
            await deps.store.removeObject(config.ATOLL_BUCKET_STAGING, key);
            stagingWritten = false;
            const prior = await deps.pool.query<UploadRow>('SELECT id, records FROM uploads WHERE provider_id = $1 AND idempotency_key = $2', [providerId, idempotencyKey]);
            const row = prior.rows[0];
            if (!row) throw new AtollError('CONFLICT', 'the upload collided with another; retry');
            return reply.status(202).send({ uploadId: row.id, records: row.records });
          }
          try {
            await deps.producer.enqueue(jobs.ingest, { v: 1, uploadId, providerId, table, stagingKey: key, format: 'ndjson' });
          } catch (e) {
            await deps.pool.query('DELETE FROM uploads WHERE id = $1', [uploadId]);
            throw new AtollError('DEPENDENCY_UNAVAILABLE', 'queue', { cause: e });
          }
          metrics.uploadsAccepted.inc(received.records);
          request.log.info({ op: 'upload.accepted', uploadId, table, records: received.records }, 'upload accepted');
          return reply.status(202).send({ uploadId, records: received.records });
        } catch (e) {
          if (stagingWritten) await deps.store.removeObject(config.ATOLL_BUCKET_STAGING, key).catch(() => undefined);
          const body = request.body as Readable | undefined;
          if (body && typeof body.resume === 'function' && !body.readableEnded) body.resume();
          throw e;
        } finally {
          await rm(file, { force: true });
        }
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
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          }),
          response: {
            200: Type.Object({
              ingests: Type.Array(
                Type.Object({
                  id: Uuid,
                  table: Type.String(),
                  source: Type.String(),
                  status: Type.String(),
                  records: Type.Union([Type.Integer(), Type.Null()]),
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
        const { rows } = await deps.pool.query<{ id: string; table_name: string; source: string; status: string; records: number | null; reason: string | null; created_at: Date; finished_at: Date | null }>(
          `SELECT id, table_name, source, status, records, reason, created_at, finished_at FROM uploads
           WHERE provider_id = $1 AND ($2::text IS NULL OR table_name = $2) AND ($3::text IS NULL OR status = $3)
           ORDER BY created_at DESC LIMIT $4`,
          [providerId, table ?? null, status ?? null, limit ?? 100],
        );
        return {
          ingests: rows.map((r) => ({
            id: r.id,
            table: r.table_name,
            source: r.source,
            status: r.status,
            records: r.records,
            reason: r.reason,
            createdAt: r.created_at.toISOString(),
            finishedAt: r.finished_at?.toISOString() ?? null,
          })),
        };
      },
    );
  };
}
