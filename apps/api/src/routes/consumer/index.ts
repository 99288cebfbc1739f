// Consumer routes (SPEC §6): cleanrooms with their own bucket and key, estimates over published datasets, and
// subscriptions that load the estimate's rows into the cleanroom.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { Lake, loadPublished, withSandboxedSelect, type SchemaColumn } from '@atoll/lake';
import { jobs } from '@atoll/queue';
import { cleanroomBucketName, cleanroomConsumerPolicy } from '@atoll/storage';
import { join } from 'node:path';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { errorResponses, Identifier, Name, Uuid } from '../../schemas.js';

const MIN_COHORT = 25;

const Cleanroom = Type.Object({
  id: Uuid,
  bucket: Type.String(),
  endpoint: Type.String(),
  region: Type.String(),
  accessKeyId: Type.String(),
  secretAccessKey: Type.String(),
});

const Run = Type.Object({
  id: Uuid,
  status: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  recordsAdded: Type.Union([Type.Integer(), Type.Null()]),
  recordsRemoved: Type.Union([Type.Integer(), Type.Null()]),
  snapshotId: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});

async function approvedConsumer(deps: ApiDeps, consumerId: string): Promise<{ id: string; status: string }> {
  const { rows } = await deps.pool.query<{ id: string; status: string }>('SELECT id, status FROM consumers WHERE id = $1', [consumerId]);
  const consumer = rows[0];
  if (!consumer) throw new AtollError('FORBIDDEN', 'the token names no known consumer');
  if (consumer.status !== 'approved') throw new AtollError('CONSUMER_NOT_APPROVED');
  return consumer;
}

export function consumerRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  const lake = new Lake(deps.store, deps.pool, join(config.ATOLL_WORK_DIR, 'lake-cache'));
  const publicEndpoint = config.ATOLL_S3_PUBLIC_ENDPOINT ?? config.ATOLL_S3_ENDPOINT;

  async function provisionKey(cleanroomId: string, bucket: string): Promise<{ accessKeyId: string; secretAccessKey: string; policyName: string }> {
    const policyName = `cleanroom-${cleanroomId}`;
    const accessKeyId = `cr${randomBytes(9).toString('hex')}`;
    const secretAccessKey = randomBytes(30).toString('base64url');
    await deps.storageAdmin.putPolicy(policyName, cleanroomConsumerPolicy(bucket));
    await deps.storageAdmin.createUser(accessKeyId, secretAccessKey);
    await deps.storageAdmin.attachPolicies(accessKeyId, [policyName]);
    return { accessKeyId, secretAccessKey, policyName };
  }

  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.addHook('onRequest', requireRole(deps, 'consumer'));

    app.post(
      '/v1/cleanrooms',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Create a cleanroom: its own encrypted bucket and an access key that reaches only that bucket',
          body: Type.Object({ name: Name }, { additionalProperties: false }),
          response: { 201: Cleanroom, ...errorResponses },
        },
      },
      async (request, reply) => {
        const consumer = await approvedConsumer(deps, principalOf(request).orgId);
        const id = randomUUID();
        const bucket = cleanroomBucketName(config.ATOLL_BUCKET_CLEANROOM_PREFIX, id);
        let key: Awaited<ReturnType<typeof provisionKey>> | undefined;
        try {
          await deps.store.ensureBucket(bucket);
          key = await provisionKey(id, bucket);
          await deps.pool.query('INSERT INTO cleanrooms (id, consumer_id, name, bucket, access_key, policy_name) VALUES ($1, $2, $3, $4, $5, $6)', [
            id,
            consumer.id,
            request.body.name,
            bucket,
            key.accessKeyId,
            key.policyName,
          ]);
        } catch (e) {
          // Nothing half-made stays behind: user, policy and bucket go.
          if (key) {
            await deps.storageAdmin.deleteUser(key.accessKeyId).catch(() => undefined);
            await deps.storageAdmin.deletePolicy(key.policyName).catch(() => undefined);
          }
          await deps.store.removeBucket(bucket).catch(() => undefined);
          throw e;
        }
        request.log.info({ op: 'cleanroom.created', cleanroomId: id, bucket }, 'cleanroom created');
        return reply.status(201).send({ id, bucket, endpoint: publicEndpoint, region: config.ATOLL_S3_REGION, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
      },
    );

    app.post(
      '/v1/cleanrooms/:id/credentials',
      {
        schema: {
          tags: ['consumer'],
          summary: "Rotate the cleanroom's access key; the old key stops working",
          params: Type.Object({ id: Uuid }),
          response: { 200: Cleanroom, ...errorResponses },
        },
      },
      async (request) => {
        const consumerId = principalOf(request).orgId;
        const { rows } = await deps.pool.query<{ bucket: string; access_key: string; policy_name: string }>(
          'SELECT bucket, access_key, policy_name FROM cleanrooms WHERE id = $1 AND consumer_id = $2',
          [request.params.id, consumerId],
        );
        const cr = rows[0];
        if (!cr) throw new AtollError('NOT_FOUND', `no cleanroom ${request.params.id}`);
        const key = await provisionKey(request.params.id, cr.bucket);
        await deps.pool.query('UPDATE cleanrooms SET access_key = $2 WHERE id = $1', [request.params.id, key.accessKeyId]);
        await deps.storageAdmin.deleteUser(cr.access_key);
        return { id: request.params.id, bucket: cr.bucket, endpoint: publicEndpoint, region: config.ATOLL_S3_REGION, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
      },
    );

    app.get(
      '/v1/datasets',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Published datasets with their columns and price',
          response: {
            200: Type.Object({
              datasets: Type.Array(
                Type.Object({
                  name: Type.String(),
                  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
                  records: Type.Integer(),
                  price: Type.Union([Type.Object({ amount: Type.Number(), currency: Type.String() }), Type.Null()]),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        await approvedConsumer(deps, principalOf(request).orgId);
        const { rows } = await deps.pool.query<{ name: string; price_amount: string | null; price_currency: string | null; columns: SchemaColumn[] }>(
          'SELECT d.name, d.price_amount, d.price_currency, s.columns FROM datasets d JOIN table_schemas s ON s.id = d.schema_id ORDER BY d.name',
        );
        const published = await loadPublished(lake, rows);
        return {
          datasets: published.map((d) => {
            const row = rows.find((r) => r.name === d.name)!;
            const snap = d.table?.metadata.snapshots.find((s) => s['snapshot-id'] === d.table?.metadata['current-snapshot-id']);
            return {
              name: d.name,
              columns: d.schema.fields.map((f) => ({ name: f.name, type: typeof f.type === 'string' ? f.type : 'nested' })),
              records: Number(snap?.summary['total-records'] ?? 0),
              price: row.price_amount !== null ? { amount: Number(row.price_amount), currency: row.price_currency ?? 'usd' } : null,
            };
          }),
        };
      },
    );

    app.post(
      '/v1/estimates',
      {
        schema: {
          tags: ['consumer'],
          summary: 'Estimate a subscription: how many records and subjects a SELECT over published datasets returns, and the price',
          body: Type.Object({ cleanroomId: Uuid, table: Identifier, sql: Type.String({ minLength: 1, maxLength: 20_000 }) }, { additionalProperties: false }),
          response: {
            201: Type.Object({
              id: Uuid,
              records: Type.Integer(),
              distinctSubjects: Type.Integer(),
              monthlyUpdateRate: Type.Number(),
              sample: Type.Array(Type.Record(Type.String(), Type.Unknown())),
              price: Type.Object({ initial: Type.Number(), monthly: Type.Number(), currency: Type.String() }),
            }),
            422: errorResponses[400],
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const consumer = await approvedConsumer(deps, principalOf(request).orgId);
        const { cleanroomId, table, sql } = request.body;
        const cr = await deps.pool.query('SELECT 1 FROM cleanrooms WHERE id = $1 AND consumer_id = $2', [cleanroomId, consumer.id]);
        if (cr.rowCount !== 1) throw new AtollError('NOT_FOUND', `no cleanroom ${cleanroomId}`);
        const { rows: known } = await deps.pool.query<{ name: string; price_amount: string | null; price_currency: string | null; columns: SchemaColumn[] }>(
          'SELECT d.name, d.price_amount, d.price_currency, s.columns FROM datasets d JOIN table_schemas s ON s.id = d.schema_id',
        );
        const knownNames = new Set(known.map((k) => k.name));
        const datasets = await loadPublished(lake, known);
        const estimate = await withSandboxedSelect({
          lake,
          sql,
          datasets,
          knownDatasets: new Set(datasets.map((d) => d.name)),
          limits: { memoryLimit: '512MB', threads: 1, timeoutMs: 30_000, tempDirectory: join(config.ATOLL_WORK_DIR, 'duck-tmp') },
          use: async (_duck, result) => result,
        });
        if (estimate.distinctSubjects < MIN_COHORT) {
          throw new AtollError('COHORT_TOO_SMALL', `the query matches ${estimate.distinctSubjects} distinct subjects; at least ${MIN_COHORT} are required`, {
            details: { distinctSubjects: estimate.distinctSubjects, minimum: MIN_COHORT },
          });
        }
        const id = randomUUID();
        await deps.pool.query(
          `INSERT INTO estimates (id, consumer_id, cleanroom_id, table_name, sql, datasets, records, distinct_subjects) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [id, consumer.id, cleanroomId, table, sql, [...knownNames], estimate.records, estimate.distinctSubjects],
        );
        // Price: the highest per-record price among priced datasets (a conservative estimate until usage is metered).
        const priced = known.filter((k) => k.price_amount !== null);
        const perRecord = priced.length ? Math.max(...priced.map((k) => Number(k.price_amount))) : 0;
        const currency = priced[0]?.price_currency ?? 'usd';
        return reply.status(201).send({
          id,
          records: estimate.records,
          distinctSubjects: estimate.distinctSubjects,
          monthlyUpdateRate: 0,
          sample: estimate.sample,
          price: { initial: Math.round(perRecord * estimate.records * 100) / 100, monthly: 0, currency },
        });
      },
    );

    app.post(
      '/v1/subscriptions',
      {
        schema: {
          tags: ['consumer'],
          summary: "Buy an estimate: the initial load into the cleanroom follows, then daily updates",
          body: Type.Object({ estimateId: Uuid }, { additionalProperties: false }),
          response: { 201: Type.Object({ id: Uuid, status: Type.String() }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const consumer = await approvedConsumer(deps, principalOf(request).orgId);
        const { rows } = await deps.pool.query<{ cleanroom_id: string; table_name: string; sql: string }>(
          'SELECT cleanroom_id, table_name, sql FROM estimates WHERE id = $1 AND consumer_id = $2',
          [request.body.estimateId, consumer.id],
        );
        const est = rows[0];
        if (!est) throw new AtollError('NOT_FOUND', `no estimate ${request.body.estimateId}`);
        const id = randomUUID();
        try {
          await deps.pool.query(
            `INSERT INTO subscriptions (id, consumer_id, cleanroom_id, estimate_id, table_name, sql, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending')`,
            [id, consumer.id, est.cleanroom_id, request.body.estimateId, est.table_name, est.sql],
          );
        } catch (e) {
          if ((e as { code?: string }).code === '23505') throw new AtollError('CONFLICT', 'this estimate was already bought, or the cleanroom already has a table of that name');
          throw e;
        }
        await deps.producer.enqueue(jobs.subscriptionRun, { v: 1, subscriptionId: id, reason: 'initial' });
        request.log.info({ op: 'subscription.created', subscriptionId: id }, 'subscription created');
        return reply.status(201).send({ id, status: 'pending' });
      },
    );

    app.get(
      '/v1/subscriptions/:id',
      {
        schema: {
          tags: ['consumer'],
          summary: 'A subscription with its runs',
          params: Type.Object({ id: Uuid }),
          response: { 200: Type.Object({ id: Uuid, status: Type.String(), table: Type.String(), cleanroomId: Uuid, runs: Type.Array(Run) }), ...errorResponses },
        },
      },
      async (request) => {
        const consumerId = principalOf(request).orgId;
        const { rows } = await deps.pool.query<{ status: string; table_name: string; cleanroom_id: string }>(
          'SELECT status, table_name, cleanroom_id FROM subscriptions WHERE id = $1 AND consumer_id = $2',
          [request.params.id, consumerId],
        );
        const sub = rows[0];
        if (!sub) throw new AtollError('NOT_FOUND', `no subscription ${request.params.id}`);
        const runs = await deps.pool.query<{ id: string; status: string; started_at: Date; finished_at: Date | null; records_added: number | null; records_removed: number | null; snapshot_id: string | null; error: string | null }>(
          'SELECT id, status, started_at, finished_at, records_added, records_removed, snapshot_id, error FROM subscription_runs WHERE subscription_id = $1 ORDER BY started_at DESC LIMIT 100',
          [request.params.id],
        );
        return {
          id: request.params.id,
          status: sub.status,
          table: sub.table_name,
          cleanroomId: sub.cleanroom_id,
          runs: runs.rows.map((r) => ({
            id: r.id,
            status: r.status,
            startedAt: r.started_at.toISOString(),
            finishedAt: r.finished_at?.toISOString() ?? null,
            recordsAdded: r.records_added,
            recordsRemoved: r.records_removed,
            snapshotId: r.snapshot_id,
            error: r.error,
          })),
        };
      },
    );

    for (const action of ['pause', 'resume', 'run'] as const) {
      app.post(
        `/v1/subscriptions/:id/${action}`,
        {
          schema: {
            tags: ['consumer'],
            summary: { pause: 'Pause daily updates (purchased data stays)', resume: 'Resume daily updates', run: 'Run an update now' }[action],
            params: Type.Object({ id: Uuid }),
            response: { 200: Type.Object({ id: Uuid, status: Type.String() }), ...errorResponses },
          },
        },
        async (request) => {
          const consumerId = principalOf(request).orgId;
          const { rows } = await deps.pool.query<{ status: string }>('SELECT status FROM subscriptions WHERE id = $1 AND consumer_id = $2', [request.params.id, consumerId]);
          const sub = rows[0];
          if (!sub) throw new AtollError('NOT_FOUND', `no subscription ${request.params.id}`);
          if (action === 'pause') {
            await deps.pool.query(`UPDATE subscriptions SET status = 'paused' WHERE id = $1`, [request.params.id]);
            return { id: request.params.id, status: 'paused' };
          }
          if (action === 'resume') {
            if (sub.status !== 'paused') throw new AtollError('CONFLICT', `the subscription is ${sub.status}, not paused`);
            await deps.pool.query(`UPDATE subscriptions SET status = 'active' WHERE id = $1`, [request.params.id]);
            return { id: request.params.id, status: 'active' };
          }
          if (sub.status === 'paused') throw new AtollError('CONFLICT', 'the subscription is paused; resume it first');
          await deps.producer.enqueue(jobs.subscriptionRun, { v: 1, subscriptionId: request.params.id, reason: 'manual', nonce: randomUUID() });
          return { id: request.params.id, status: sub.status };
        },
      );
    }
  };
}
