// POST /v1/bulk-credentials and DELETE /v1/bulk-credentials/{accessKeyId} (SPEC §4): a provider's S3 key for
// `s3://<staging>/<providerId>/`, and its revocation. Registered inside the provider scope (role checked there).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BulkCredentialService } from '@atoll/bulk';
import { AtollError } from '@atoll/errors';
import { principalOf } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { jobs } from '@atoll/queue';
import { randomUUID } from 'node:crypto';
import type { BulkKeyMinter } from '@atoll/bulk';
import { workerCaller, type WorkerCall } from '../../worker-calls.js';
import { errorResponses } from '../../schemas.js';

const BulkCredentialsResponse = Type.Object({
  endpoint: Type.String(),
  region: Type.String(),
  bucket: Type.String(),
  prefix: Type.String(),
  accessKeyId: Type.String(),
  secretAccessKey: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
});

const MAX_TTL_SECONDS = 365 * 24 * 3600;

// The body is optional (SPEC §4 posts none), which a route body schema cannot say, so it is checked here.
function ttlSecondsOf(body: unknown): number | undefined {
  if (body === undefined || body === null) return undefined;
  const keys = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : null;
  if (!keys || keys.some((k) => k !== 'ttlSeconds')) throw new AtollError('VALIDATION_FAILED', 'the body may only hold ttlSeconds');
  const ttl = (body as { ttlSeconds?: unknown }).ttlSeconds;
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 900 || ttl > MAX_TTL_SECONDS) {
    throw new AtollError('VALIDATION_FAILED', `ttlSeconds must be an integer from 900 to ${MAX_TTL_SECONDS}`);
  }
  return ttl;
}

/** Bulk keys are MinIO service accounts: minted and revoked by the cleanroom worker, which holds the admin right. */
function bulkKeysByWorker(call: WorkerCall): BulkKeyMinter {
  return {
    mint: (providerId, expiresAt) =>
      call<Parameters<typeof jobs.provision.jobId>[0], { accessKeyId: string; secretAccessKey: string }>(jobs.provision, {
        v: 1,
        action: 'bulk-key',
        providerId,
        expiresAt: expiresAt.toISOString(),
        nonce: randomUUID(),
      }),
    revoke: async (providerId, accessKeyId) => {
      await call(jobs.provision, { v: 1, action: 'bulk-revoke', providerId, accessKeyId, nonce: randomUUID() });
    },
  };
}

export function bulkCredentialRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  const service = new BulkCredentialService({
    db: deps.pool,
    keys: bulkKeysByWorker(workerCaller(deps.producer, config.ATOLL_WORKER_CALL_TIMEOUT_MS)),
    stagingBucket: config.ATOLL_BUCKET_STAGING,
    endpoint: config.ATOLL_S3_PUBLIC_ENDPOINT ?? config.ATOLL_S3_ENDPOINT,
    region: config.ATOLL_S3_REGION,
    defaultTtlSeconds: config.ATOLL_BULK_KEY_TTL_SECONDS,
  });
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/bulk-credentials',
      {
        schema: {
          tags: ['provider'],
          summary: 'A new S3 key that puts, lists and reads only under the provider’s staging prefix (earlier keys stay valid until they expire or are revoked)',
          description: 'Optional JSON body `{ "ttlSeconds": 900…31536000 }`; without it the key lives ATOLL_BULK_KEY_TTL_SECONDS.',
          response: { 201: BulkCredentialsResponse, ...errorResponses },
        },
      },
      async (request, reply) => {
        const providerId = principalOf(request).orgId;
        const credentials = await service.issue(providerId, ttlSecondsOf(request.body));
        request.log.info({ op: 'bulk.key.issued', accessKeyId: credentials.accessKeyId, expiresAt: credentials.expiresAt }, 'bulk key issued');
        return reply.status(201).send(credentials);
      },
    );

    app.delete(
      '/v1/bulk-credentials/:accessKeyId',
      {
        schema: {
          tags: ['provider'],
          summary: 'Revoke one of the provider’s bulk keys; it is refused from the next request on',
          params: Type.Object({ accessKeyId: Type.String({ pattern: '^[A-Z0-9]{16,40}$' }) }),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await service.revoke(principalOf(request).orgId, request.params.accessKeyId);
        request.log.info({ op: 'bulk.key.revoked', accessKeyId: request.params.accessKeyId }, 'bulk key revoked');
        return reply.status(204).send(null);
      },
    );
  };
}
