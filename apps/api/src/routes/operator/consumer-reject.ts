// POST /v1/consumers/{id}/reject: an operator refuses a pending buyer, or withdraws an approved one's access. Tokens
// the consumer already holds stay valid until they expire, so every consumer route checks the status, not the token.
// Its cleanroom keys are deleted by the cleanroom worker (the api holds no MinIO admin right); when that call fails
// the answer is 503 and the consumer stays rejected: rejecting again finishes the revocation.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { randomUUID } from 'node:crypto';
import { jobs, type ProvisionJob } from '@atoll/queue';
import type { ApiDeps } from '../../deps.js';
import type { WorkerCall } from '../../worker-calls.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function rejectConsumerRoute(deps: ApiDeps, call: WorkerCall): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/consumers/:id/reject',
      {
        schema: {
          tags: ['operator'],
          summary: "Reject a pending consumer, or withdraw an approved consumer's access (its API key is disabled)",
          params: Type.Object({ id: Uuid }),
          body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              id: Uuid,
              status: Type.Literal('rejected'),
              reason: Type.String(),
              /** Cleanroom keys deleted by this request (their S3 reads stop at once). */
              cleanroomKeysRevoked: Type.Integer(),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const { rows } = await deps.pool.query<{ status: string; client_id: string | null }>(
          `UPDATE consumers c SET status = 'rejected', decision_reason = $2, decided_at = now()
           FROM (SELECT id, status AS before FROM consumers WHERE id = $1 FOR UPDATE) old
           WHERE c.id = old.id AND old.before <> 'rejected' RETURNING old.before AS status, c.client_id`,
          [id, request.body.reason],
        );
        const changed = rows[0];
        if (!changed) {
          const exists = await deps.pool.query('SELECT 1 FROM consumers WHERE id = $1', [id]);
          if (exists.rowCount !== 1) throw new AtollError('NOT_FOUND', `no consumer ${id}`);
          // Already rejected: only a revocation an earlier attempt could not finish is left to do.
          const live = await deps.pool.query('SELECT 1 FROM cleanrooms WHERE consumer_id = $1 AND key_revoked_at IS NULL LIMIT 1', [id]);
          if (live.rowCount === 0) throw new AtollError('CONFLICT', 'the consumer is already rejected');
        }
        // No new tokens from now on; live ones are refused by the status check of every consumer route.
        if (changed?.client_id) await deps.clientAdmin.deleteClient(changed.client_id);
        const { revoked } = await call<ProvisionJob, { revoked: number }>(jobs.provision, { v: 1, action: 'withdraw', consumerId: id, nonce: randomUUID() });
        request.log.info({ op: 'consumer.rejected', consumerId: id, was: changed?.status ?? 'rejected', cleanroomKeysRevoked: revoked }, 'consumer rejected');
        return { id, status: 'rejected' as const, reason: request.body.reason, cleanroomKeysRevoked: revoked };
      },
    );
  };
}
