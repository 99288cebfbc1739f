// POST /v1/uploads/{table} (SPEC §5.5): records from a provider backend (user_id in each record) or from a device
// (subject from its token, user_id filled by the server, refused without a live license), validated and staged.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { jobs } from '@atoll/queue';
import { anyPrincipalOf, requireDeviceOrRole } from '../auth.js';
import type { ApiDeps, Config } from '../deps.js';
import type { ApiMetrics } from '../metrics.js';
import { errorResponses, Uuid } from '../schemas.js';
import { apiUploadKey } from './batcher.js';
import { receiveJsonArray, receiveNdjson, recordValidator, type Received } from './receive.js';

interface UploadRow {
  id: string;
  records: number;
  status: string;
  table_name: string;
  staging_key: string;
}

export function uploadRoute(config: Config, deps: ApiDeps, metrics: ApiMetrics): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    const spillDir = join(config.ATOLL_WORK_DIR, 'uploads');
    // NDJSON bodies are streamed to the handler, which enforces the size limit itself while parsing.
    app.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));

    const findPrior = async (providerId: string, idempotencyKey: string): Promise<UploadRow | undefined> =>
      (await deps.pool.query<UploadRow>('SELECT id, records, status, table_name, staging_key FROM uploads WHERE provider_id = $1 AND idempotency_key = $2', [providerId, idempotencyKey])).rows[0];

    /**
     * A retry answered with the upload its key recorded. If that upload is still pending, its first request may have
     * stopped between recording it and queueing its job (that is why the client retries): the job is put back, so the
     * retry's 202 is as good as a first answer. A job that exists is left alone.
     */
    const answerPrior = async (providerId: string, prior: UploadRow): Promise<{ uploadId: string; records: number }> => {
      if (prior.status === 'pending') {
        try {
          await deps.producer.rearm(jobs.ingest, { v: 1, uploadId: prior.id, providerId, table: prior.table_name, stagingKey: prior.staging_key, format: 'ndjson' });
        } catch (e) {
          throw new AtollError('DEPENDENCY_UNAVAILABLE', 'queue', { cause: e });
        }
      }
      return { uploadId: prior.id, records: prior.records };
    };

    app.post(
      '/v1/uploads/:table',
      {
        onRequest: requireDeviceOrRole(deps, { scope: 'upload', roles: ['provider'] }),
        bodyLimit: config.ATOLL_MAX_UPLOAD_BYTES,
        schema: {
          tags: ['provider', 'devices'],
          summary: 'Upload records (NDJSON or a JSON array) into staging; they are ingested asynchronously',
          description:
            'With a provider token, records carry the user_id column. With a device token (scope upload), the subject comes from the token: records must not carry user_id (the server fills it), and the device must hold a live license for the table (else 403 LICENSE_REQUIRED).',
          params: Type.Object({ table: Type.String({ maxLength: 63 }) }),
          headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
          response: { 202: Type.Object({ uploadId: Uuid, records: Type.Integer() }), 413: errorResponses[400], 415: errorResponses[400], ...errorResponses },
        },
      },
      async (request, reply) => {
        const principal = anyPrincipalOf(request);
        const providerId = principal.kind === 'device' ? principal.providerId : principal.orgId;
        const { table } = request.params;
        // A device's keys are its own: two devices choosing the same key must not see each other's upload.
        const idempotencyKey = request.headers['idempotency-key'] && (principal.kind === 'device' ? `device:${principal.deviceId}:${request.headers['idempotency-key']}` : request.headers['idempotency-key']);
        // The schema, the license check and the device's user id: from memory when recent (see lookups.ts), else
        // independent reads in one round trip of latency.
        const [columns, licensed, device] = await Promise.all([
          deps.schemas.columns(providerId, table),
          principal.kind === 'device' ? deps.liveLicenses.isLive({ providerId, tid: principal.tid, table }) : Promise.resolve(true),
          principal.kind === 'device' ? deps.devices.active(principal.deviceId) : Promise.resolve(null),
        ]);
        if (!columns) throw new AtollError('UNKNOWN_TABLE', `${table} (no approved schema for this provider)`);
        if (!columns.some((c) => c.role === 'user_id')) {
          throw new AtollError('BAD_REQUEST', `table ${table} has no user_id column, so its records cannot be tied to a subject`);
        }
        let subject: { userId: string } | undefined;
        if (principal.kind === 'device') {
          if (!licensed) throw new AtollError('LICENSE_REQUIRED', `no live license of this subject covers the table ${table}`);
          if (!device) throw new AtollError('DEVICE_REVOKED');
          subject = { userId: device.userId };
        }


        if (idempotencyKey) {
          const prior = await findPrior(providerId, idempotencyKey);
          if (prior) return reply.status(202).send(await answerPrior(providerId, prior));
        }

        const uploadId = randomUUID();
        const file = `${spillDir}/${uploadId}.ndjson`;
        const limits = { maxBytes: config.ATOLL_MAX_UPLOAD_BYTES, maxRecords: config.ATOLL_MAX_UPLOAD_RECORDS };
        const key = apiUploadKey(providerId, table, uploadId);
        const validate = recordValidator(columns, subject);
        let stagingWritten = false;
        let received: Received | undefined;
        try {
          const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (type === 'application/x-ndjson') {
            received = await receiveNdjson(request.body as Readable, validate, limits, file);
          } else if (type === 'application/json') {
            received = await receiveJsonArray(request.body, validate, limits, file, Number(request.headers['content-length'] ?? 0));
          } else {
            throw new AtollError('UNSUPPORTED_MEDIA_TYPE', `${type || 'none'}; use application/x-ndjson or application/json`);
          }
          if (received.records === 0) throw new AtollError('EMPTY_UPLOAD');

          // Small uploads without an Idempotency-Key share a staging object with others (group commit); a keyed or
          // large one keeps its own object, row and job below, so a retry finds exactly it.
          if (received.buffer && !idempotencyKey) {
            const batchedId = await deps.uploads.stage({ providerId, table, body: received.buffer, records: received.records, bytes: received.bytes });
            metrics.uploadsAccepted.inc(received.records);
            request.log.info({ op: 'upload.accepted', uploadId: batchedId, table, records: received.records, by: principal.kind, batched: true }, 'upload accepted');
            // The payload is returned, not `reply.send()`'s reply: an async handler that returns the reply (a thenable)
            // costs each request another promise job and Fastify's `then`.
            void reply.status(202);
            return { uploadId: batchedId, records: received.records };
          }

          if (received.buffer) await deps.store.putObject(config.ATOLL_BUCKET_STAGING, key, received.buffer, { contentType: 'application/x-ndjson' });
          else await deps.store.putFile(config.ATOLL_BUCKET_STAGING, key, file, { contentType: 'application/x-ndjson' });
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
            const row = idempotencyKey ? await findPrior(providerId, idempotencyKey) : undefined;
            if (!row) throw new AtollError('CONFLICT', 'the upload collided with another; retry');
            // The winner is queueing its job right now: nothing to put back.
            return reply.status(202).send({ uploadId: row.id, records: row.records });
          }
          try {
            await deps.producer.enqueue(jobs.ingest, { v: 1, uploadId, providerId, table, stagingKey: key, format: 'ndjson' });
          } catch (e) {
            // The row goes first; if it cannot, the object stays with it (a row whose records are gone could be
            // answered 202 to a keyed retry and never load), and the writer's reconciler loads the pair later.
            const taken = await deps.pool.query('DELETE FROM uploads WHERE id = $1', [uploadId]).then(() => true, () => false);
            if (!taken) stagingWritten = false;
            throw new AtollError('DEPENDENCY_UNAVAILABLE', 'queue', { cause: e });
          }
          metrics.uploadsAccepted.inc(received.records);
          request.log.info({ op: 'upload.accepted', uploadId, table, records: received.records, by: principal.kind }, 'upload accepted');
          return reply.status(202).send({ uploadId, records: received.records });
        } catch (e) {
          if (stagingWritten) await deps.store.removeObject(config.ATOLL_BUCKET_STAGING, key).catch(() => undefined);
          const body = request.body as Readable | undefined;
          if (body && typeof body.resume === 'function' && !body.readableEnded) body.resume();
          throw e;
        } finally {
          if (!received?.buffer) await rm(file, { force: true });
        }
      },
    );
  };
}
