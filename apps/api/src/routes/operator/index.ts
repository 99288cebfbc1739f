// Operator routes (SPEC §3): organisations, approvals and prices. Every route needs the operator role.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { licensingFor } from '../licenses/licensing.js';
import { cohortRoute } from './cohort.js';
import { rejectConsumerRoute } from './consumer-reject.js';
import { listConsumersRoute } from './consumer-list.js';
import { workerCaller } from '../../worker-calls.js';
import { errorResponses, Identifier, Name, UseCase, Uuid } from '../../schemas.js';

export function operatorRoutes(deps: ApiDeps, config: Config): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.addHook('onRequest', requireRole(deps, 'operator'));
    await app.register(cohortRoute(deps));
    await app.register(listConsumersRoute(deps));
    await app.register(rejectConsumerRoute(deps, workerCaller(deps.producer, config.ATOLL_WORKER_CALL_TIMEOUT_MS)));

    app.post(
      '/v1/providers',
      {
        schema: {
          tags: ['operator'],
          summary: 'Create a data provider and its API key (the secret is shown once)',
          body: Type.Object({ name: Name }, { additionalProperties: false }),
          response: { 201: Type.Object({ id: Uuid, clientId: Type.String(), clientSecret: Type.String() }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const id = randomUUID();
        const clientId = `provider-${id}`;
        const creds = await deps.clientAdmin.createOrgClient({ clientId, role: 'provider', orgId: id, name: request.body.name });
        try {
          await deps.pool.query('INSERT INTO providers (id, name, client_id) VALUES ($1, $2, $3)', [id, request.body.name, clientId]);
        } catch (e) {
          await deps.clientAdmin.deleteClient(clientId).catch(() => undefined);
          throw e;
        }
        // The provider's license countersigning key (SPEC §5.4). Not fatal: it is also made on first use.
        await licensingFor(config, deps)
          .keys.providerKey(id)
          .catch((e: unknown) => request.log.warn({ op: 'provider.signing_key.failed', providerId: id, err: e }, 'provider signing key not created yet'));
        request.log.info({ op: 'provider.created', providerId: id }, 'provider created');
        return reply.status(201).send({ id, clientId: creds.clientId, clientSecret: creds.clientSecret });
      },
    );

    app.post(
      '/v1/consumers',
      {
        schema: {
          tags: ['operator'],
          summary: 'Register a data consumer with its documented use case; it starts pending',
          body: Type.Object({ name: Name, useCase: UseCase }, { additionalProperties: false }),
          response: { 201: Type.Object({ id: Uuid, status: Type.Literal('pending') }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const id = randomUUID();
        await deps.pool.query(
          `INSERT INTO consumers (id, name, use_case_category, use_case_description, status) VALUES ($1, $2, $3, $4, 'pending')`,
          [id, request.body.name, request.body.useCase.category, request.body.useCase.description],
        );
        request.log.info({ op: 'consumer.created', consumerId: id }, 'consumer registered');
        return reply.status(201).send({ id, status: 'pending' as const });
      },
    );

    app.post(
      '/v1/consumers/:id/approve',
      {
        schema: {
          tags: ['operator'],
          summary: 'Approve a consumer and issue its API key (the secret is shown once)',
          params: Type.Object({ id: Uuid }),
          response: { 200: Type.Object({ status: Type.Literal('approved'), clientId: Type.String(), clientSecret: Type.String() }), ...errorResponses },
        },
      },
      async (request) => {
        const { id } = request.params;
        const { rows } = await deps.pool.query<{ status: string; name: string }>('SELECT status, name FROM consumers WHERE id = $1', [id]);
        const consumer = rows[0];
        if (!consumer) throw new AtollError('NOT_FOUND', `no consumer ${id}`);
        if (consumer.status !== 'pending') throw new AtollError('CONFLICT', `the consumer is already ${consumer.status}`);
        const clientId = `consumer-${id}`;
        const creds = await deps.clientAdmin.createOrgClient({ clientId, role: 'consumer', orgId: id, name: consumer.name });
        const updated = await deps.pool.query(
          `UPDATE consumers SET status = 'approved', client_id = $2, approved_at = now(), decided_at = now(), decision_reason = NULL WHERE id = $1 AND status = 'pending'`,
          [id, clientId],
        );
        if (updated.rowCount !== 1) {
          await deps.clientAdmin.deleteClient(clientId).catch(() => undefined);
          throw new AtollError('CONFLICT', 'the consumer changed while being approved');
        }
        request.log.info({ op: 'consumer.approved', consumerId: id }, 'consumer approved');
        return { status: 'approved' as const, clientId: creds.clientId, clientSecret: creds.clientSecret };
      },
    );

    app.post(
      '/v1/schemas/:id/approve',
      {
        schema: {
          tags: ['operator'],
          summary: "Approve a provider's table schema; its dataset becomes known to consumers",
          params: Type.Object({ id: Uuid }),
          response: { 200: Type.Object({ id: Uuid, status: Type.Literal('approved'), dataset: Identifier }), ...errorResponses },
        },
      },
      async (request) => {
        const { id } = request.params;
        const client = await deps.pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ status: string; dataset: string; provider_id: string }>(
            'SELECT status, dataset, provider_id FROM table_schemas WHERE id = $1 FOR UPDATE',
            [id],
          );
          const schema = rows[0];
          if (!schema) throw new AtollError('NOT_FOUND', `no schema ${id}`);
          if (schema.status !== 'pending') throw new AtollError('CONFLICT', `the schema is already ${schema.status}`);
          const taken = await client.query<{ provider_id: string }>('SELECT provider_id FROM datasets WHERE name = $1', [schema.dataset]);
          if (taken.rows[0]) throw new AtollError('CONFLICT', `dataset ${schema.dataset} already exists`);
          await client.query(`UPDATE table_schemas SET status = 'approved', decided_at = now() WHERE id = $1`, [id]);
          await client.query('INSERT INTO datasets (name, provider_id, schema_id) VALUES ($1, $2, $3)', [schema.dataset, schema.provider_id, id]);
          await client.query('COMMIT');
          request.log.info({ op: 'schema.approved', schemaId: id, dataset: schema.dataset }, 'schema approved');
          return { id, status: 'approved' as const, dataset: schema.dataset };
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        } finally {
          client.release();
        }
      },
    );

    app.post(
      '/v1/schemas/:id/reject',
      {
        schema: {
          tags: ['operator'],
          summary: "Reject a provider's table schema with a reason",
          params: Type.Object({ id: Uuid }),
          body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ id: Uuid, status: Type.Literal('rejected'), reason: Type.String() }), ...errorResponses },
        },
      },
      async (request) => {
        const { id } = request.params;
        const r = await deps.pool.query(
          `UPDATE table_schemas SET status = 'rejected', reason = $2, decided_at = now() WHERE id = $1 AND status = 'pending'`,
          [id, request.body.reason],
        );
        if (r.rowCount !== 1) {
          const exists = await deps.pool.query('SELECT status FROM table_schemas WHERE id = $1', [id]);
          if (!exists.rows[0]) throw new AtollError('NOT_FOUND', `no schema ${id}`);
          throw new AtollError('CONFLICT', 'only a pending schema can be rejected');
        }
        return { id, status: 'rejected' as const, reason: request.body.reason };
      },
    );

    app.put(
      '/v1/datasets/:name/price',
      {
        schema: {
          tags: ['operator'],
          summary: 'Set the per-record price of a dataset',
          params: Type.Object({ name: Identifier }),
          body: Type.Object(
            {
              perRecord: Type.Object(
                { amount: Type.Number({ minimum: 0, maximum: 1000 }), currency: Type.String({ pattern: '^[a-z]{3}$' }) },
                { additionalProperties: false },
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ dataset: Identifier, perRecord: Type.Object({ amount: Type.Number(), currency: Type.String() }) }), ...errorResponses },
        },
      },
      async (request) => {
        const { name } = request.params;
        const { amount, currency } = request.body.perRecord;
        const r = await deps.pool.query('UPDATE datasets SET price_amount = $2, price_currency = $3 WHERE name = $1', [name, amount, currency]);
        if (r.rowCount !== 1) throw new AtollError('NOT_FOUND', `no dataset ${name}`);
        return { dataset: name, perRecord: { amount, currency } };
      },
    );
  };
}
