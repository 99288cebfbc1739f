// Cleanroom provisioning (cleanroom worker): the consumer's own encrypted bucket and a MinIO user whose policy reaches
// only that bucket. The worker, not the public api, holds the admin rights this needs (decision 4, docs/security.md).
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { AtollError } from '@atoll/errors';
import type { ProvisionJob } from '@atoll/queue';
import { cleanroomBucketName, cleanroomConsumerPolicy, type ObjectStore, type StorageAdmin } from '@atoll/storage';
import { approvedConsumer } from './delivery.js';

export interface ProvisionContext {
  pool: Pool;
  store: ObjectStore;
  admin: StorageAdmin;
  bucketPrefix: string;
}

export interface CleanroomKey {
  id: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

async function newKey(ctx: ProvisionContext, cleanroomId: string, bucket: string): Promise<{ accessKeyId: string; secretAccessKey: string; policyName: string }> {
  const policyName = `cleanroom-${cleanroomId}`;
  const accessKeyId = `cr${randomBytes(9).toString('hex')}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  await ctx.admin.putPolicy(policyName, cleanroomConsumerPolicy(bucket));
  await ctx.admin.createUser(accessKeyId, secretAccessKey);
  await ctx.admin.attachPolicies(accessKeyId, [policyName]);
  return { accessKeyId, secretAccessKey, policyName };
}

/** The cleanroom actions of the provision queue (bulk keys are served beside them by the same worker). */
export type CleanroomProvisionJob = Extract<ProvisionJob, { action: 'create' | 'rotate' }>;

export async function provisionCleanroom(ctx: ProvisionContext, job: CleanroomProvisionJob): Promise<CleanroomKey> {
  const consumer = await approvedConsumer(ctx.pool, job.consumerId);
  if (job.action === 'rotate') {
    const { rows } = await ctx.pool.query<{ bucket: string; access_key: string }>('SELECT bucket, access_key FROM cleanrooms WHERE id = $1 AND consumer_id = $2', [job.cleanroomId, consumer.id]);
    const room = rows[0];
    if (!room) throw new AtollError('NOT_FOUND', `no cleanroom ${job.cleanroomId}`);
    const key = await newKey(ctx, job.cleanroomId, room.bucket);
    await ctx.pool.query('UPDATE cleanrooms SET access_key = $2 WHERE id = $1', [job.cleanroomId, key.accessKeyId]);
    // The old key stops working now; a failure here leaves it alive, so it is not swallowed.
    await ctx.admin.deleteUser(room.access_key);
    return { id: job.cleanroomId, bucket: room.bucket, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  }
  const bucket = cleanroomBucketName(ctx.bucketPrefix, job.cleanroomId);
  let key: Awaited<ReturnType<typeof newKey>> | undefined;
  try {
    await ctx.store.ensureBucket(bucket);
    key = await newKey(ctx, job.cleanroomId, bucket);
    await ctx.pool.query('INSERT INTO cleanrooms (id, consumer_id, name, bucket, access_key, policy_name) VALUES ($1, $2, $3, $4, $5, $6)', [
      job.cleanroomId,
      consumer.id,
      job.name,
      bucket,
      key.accessKeyId,
      key.policyName,
    ]);
  } catch (e) {
    // Nothing half-made stays behind: user, policy and bucket go.
    if (key) {
      await ctx.admin.deleteUser(key.accessKeyId).catch(() => undefined);
      await ctx.admin.deletePolicy(key.policyName).catch(() => undefined);
    }
    await ctx.store.removeBucket(bucket).catch(() => undefined);
    throw e;
  }
  return { id: job.cleanroomId, bucket, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

/**
 * Deletes the MinIO user of every cleanroom of a consumer that is no longer approved: its reads stop at once. Deliveries
 * and erasures go on with the worker's own key. Idempotent: rooms already revoked are skipped, a missing user is not an
 * error. Refused while the consumer is approved (withdrawing is the operator's rejection, never a side door).
 */
export async function withdrawCleanroomKeys(ctx: Pick<ProvisionContext, 'pool' | 'admin'>, consumerId: string): Promise<{ revoked: number }> {
  const { rows: status } = await ctx.pool.query<{ status: string }>('SELECT status FROM consumers WHERE id = $1', [consumerId]);
  if (!status[0]) throw new AtollError('NOT_FOUND', `no consumer ${consumerId}`);
  if (status[0].status === 'approved') throw new AtollError('CONFLICT', 'the consumer is approved; reject it first');
  const { rows } = await ctx.pool.query<{ id: string; access_key: string }>('SELECT id, access_key FROM cleanrooms WHERE consumer_id = $1 AND key_revoked_at IS NULL', [consumerId]);
  for (const room of rows) {
    await ctx.admin.deleteUser(room.access_key);
    await ctx.pool.query('UPDATE cleanrooms SET key_revoked_at = now() WHERE id = $1', [room.id]);
  }
  return { revoked: rows.length };
}
