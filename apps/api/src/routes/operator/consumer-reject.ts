// POST /v1/consumers/{id}/reject: an operator refuses a pending buyer, or withdraws an approved one's access. Tokens
// the consumer already holds stay valid until they expire, so every consumer route checks the status, not the token.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function rejectConsumerRoute(deps: ApiDeps): FastifyPluginAsync {
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
          response: { 200: Type.Object({ id: Uuid, status: Type.Literal('rejected'), reason: Type.String() }), ...errorResponses },
        },
      },
      async (request) => {
        const { id } = request.params;
        const { rows } = await deps.pool.query<{ status: string; client_id: string | null }>(
          `UPDATE consumers c SET status = 'rejected' FROM (SELECT id, status AS before FROM consumers WHERE id = $1 FOR UPDATE) old
           WHERE c.id = old.id AND old.before <> 'rejected' RETURNING old.before AS status, c.client_id`,
          [id],
        );
        const changed = rows[0];
        if (!changed) {
          const exists = await deps.pool.query('SELECT 1 FROM consumers WHERE id = $1', [id]);
          if (exists.rowCount !== 1) throw new AtollError('NOT_FOUND', `no consumer ${id}`);
          throw new AtollError('CONFLICT', 'the consumer is already rejected');
        }
        // No new tokens from now on; live ones are refused by the status check of every consumer route.
        if (changed.client_id) await deps.clientAdmin.deleteClient(changed.client_id);
        request.log.info({ op: 'consumer.rejected', consumerId: id, was: changed.status }, 'consumer rejected');
        return { id, status: 'rejected' as const, reason: request.body.reason };
      },
    );
  };
}
