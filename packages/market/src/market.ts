// The consumer side as the api offers it (SPEC §6): cleanrooms, the dataset catalogue, estimates, subscriptions and
// erasure records. Every operation checks that the consumer is approved and owns what it names; work that needs
// admin rights or runs untrusted SQL is asked of the cleanroom worker (request/reply over BullMQ, sealed answers).
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { AtollError } from '@atoll/errors';
import { loadPublished, type Lake } from '@atoll/lake';
import { jobs, type JobDefinition, type Producer } from '@atoll/queue';
import { approvedConsumer, datasetRecords } from './delivery.js';
import type { EstimateAnswer } from './estimate.js';
import type { CleanroomKey } from './provision.js';
import type { CleanroomListing, DatasetListing, SubscriptionListing, SubscriptionView } from './listings.js';

export interface MarketOptions {
  db: Pool;
  producer: Producer;
  lake: Lake;
  /** Asks the cleanroom worker and waits for its answer (estimates, provisioning); rethrows its AtollErrors. */
  call: <T extends object, R>(def: JobDefinition<T>, data: T) => Promise<R>;
}

export interface Erasure {
  subscriptionId: string;
  consumer: string;
  records: number;
  removedAt: string;
}

export class Market {
  constructor(private readonly o: MarketOptions) {}

  private call<T extends object, R>(def: JobDefinition<T>, data: T): Promise<R> {
    return this.o.call<T, R>(def, data);
  }

  /** A new cleanroom: its own encrypted bucket and a key that reaches only it (made by the cleanroom worker). */
  async createCleanroom(consumerId: string, name: string): Promise<CleanroomKey> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    return this.call<Parameters<typeof jobs.provision.jobId>[0], CleanroomKey>(jobs.provision, { v: 1, action: 'create', cleanroomId: randomUUID(), consumerId: consumer.id, name });
  }

  /** A new key for the cleanroom; the old one stops working. */
  async rotateCleanroomKey(consumerId: string, cleanroomId: string): Promise<CleanroomKey> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    const owned = await this.o.db.query('SELECT 1 FROM cleanrooms WHERE id = $1 AND consumer_id = $2', [cleanroomId, consumer.id]);
    if (owned.rowCount !== 1) throw new AtollError('NOT_FOUND', `no cleanroom ${cleanroomId}`);
    return this.call<Parameters<typeof jobs.provision.jobId>[0], CleanroomKey>(jobs.provision, { v: 1, action: 'rotate', cleanroomId, consumerId: consumer.id, nonce: randomUUID() });
  }

  /** The consumer's cleanrooms, newest first; never a key (a secret is shown once, at creation or rotation). */
  async cleanrooms(consumerId: string): Promise<CleanroomListing[]> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    const { rows } = await this.o.db.query<{ id: string; name: string; bucket: string; created_at: Date }>(
      'SELECT id, name, bucket, created_at FROM cleanrooms WHERE consumer_id = $1 ORDER BY created_at DESC LIMIT 500',
      [consumer.id],
    );
    return rows.map((r) => ({ id: r.id, name: r.name, bucket: r.bucket, createdAt: r.created_at.toISOString() }));
  }

  /** The consumer's subscriptions, newest first. */
  async subscriptions(consumerId: string): Promise<SubscriptionListing[]> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    const { rows } = await this.o.db.query<{ id: string; status: string; table_name: string; cleanroom_id: string; datasets: string[]; created_at: Date }>(
      'SELECT id, status, table_name, cleanroom_id, datasets, created_at FROM subscriptions WHERE consumer_id = $1 ORDER BY created_at DESC LIMIT 500',
      [consumer.id],
    );
    return rows.map((r) => ({ id: r.id, status: r.status, table: r.table_name, cleanroomId: r.cleanroom_id, datasets: r.datasets, createdAt: r.created_at.toISOString() }));
  }

  /** The published datasets with their columns, record counts, prices and cohort minimums. */
  async datasets(consumerId: string): Promise<DatasetListing[]> {
    await approvedConsumer(this.o.db, consumerId);
    const records = await datasetRecords(this.o.db);
    const published = await loadPublished(this.o.lake, records);
    return published.map((d, i) => {
      const r = records[i]!;
      const snap = d.table?.metadata.snapshots.find((s) => s['snapshot-id'] === d.table?.metadata['current-snapshot-id']);
      return {
        name: d.name,
        columns: d.schema.fields.map((f) => ({ name: f.name, type: typeof f.type === 'string' ? f.type : 'nested' })),
        records: Number(snap?.summary['total-records'] ?? 0),
        price: r.price,
        minCohort: r.minCohort,
      };
    });
  }

  /** Runs the estimate in the cleanroom worker's sandbox and records it (SPEC §6). */
  async estimate(consumerId: string, input: { cleanroomId: string; table: string; sql: string }): Promise<EstimateAnswer> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    const owned = await this.o.db.query('SELECT 1 FROM cleanrooms WHERE id = $1 AND consumer_id = $2', [input.cleanroomId, consumer.id]);
    if (owned.rowCount !== 1) throw new AtollError('NOT_FOUND', `no cleanroom ${input.cleanroomId}`);
    return this.call<Parameters<typeof jobs.estimate.jobId>[0], EstimateAnswer>(jobs.estimate, {
      v: 1,
      estimateId: randomUUID(),
      consumerId: consumer.id,
      cleanroomId: input.cleanroomId,
      table: input.table,
      sql: input.sql,
    });
  }

  /** Buys an estimate: the subscription starts pending and its initial run is queued. */
  async subscribe(consumerId: string, estimateId: string): Promise<{ id: string; status: string }> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    const { rows } = await this.o.db.query<{ cleanroom_id: string; table_name: string; sql: string; datasets: string[] }>(
      'SELECT cleanroom_id, table_name, sql, datasets FROM estimates WHERE id = $1 AND consumer_id = $2',
      [estimateId, consumer.id],
    );
    const est = rows[0];
    if (!est) throw new AtollError('NOT_FOUND', `no estimate ${estimateId}`);
    const id = randomUUID();
    try {
      await this.o.db.query(
        `INSERT INTO subscriptions (id, consumer_id, cleanroom_id, estimate_id, table_name, sql, status, datasets) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)`,
        [id, consumer.id, est.cleanroom_id, estimateId, est.table_name, est.sql, est.datasets],
      );
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new AtollError('CONFLICT', 'this estimate was already bought, or the cleanroom already has a table of that name');
      throw e;
    }
    await this.o.producer.enqueue(jobs.subscriptionRun, { v: 1, subscriptionId: id, reason: 'initial' });
    return { id, status: 'pending' };
  }

  private async owned(consumerId: string, subscriptionId: string): Promise<{ status: string; table_name: string; cleanroom_id: string; datasets: string[] }> {
    const consumer = await approvedConsumer(this.o.db, consumerId);
    const { rows } = await this.o.db.query<{ status: string; table_name: string; cleanroom_id: string; datasets: string[] }>(
      'SELECT status, table_name, cleanroom_id, datasets FROM subscriptions WHERE id = $1 AND consumer_id = $2',
      [subscriptionId, consumer.id],
    );
    const sub = rows[0];
    // Another consumer's subscription is indistinguishable from none.
    if (!sub) throw new AtollError('NOT_FOUND', `no subscription ${subscriptionId}`);
    return sub;
  }

  async subscription(consumerId: string, subscriptionId: string): Promise<SubscriptionView> {
    const sub = await this.owned(consumerId, subscriptionId);
    const runs = await this.o.db.query<{
      id: string;
      status: string;
      started_at: Date;
      finished_at: Date | null;
      records_added: string | null;
      records_removed: string | null;
      snapshot_id: string | null;
      reason: string | null;
      error: string | null;
    }>(
      'SELECT id, status, started_at, finished_at, records_added, records_removed, snapshot_id, reason, error FROM subscription_runs WHERE subscription_id = $1 ORDER BY started_at DESC LIMIT 100',
      [subscriptionId],
    );
    return {
      id: subscriptionId,
      status: sub.status,
      table: sub.table_name,
      cleanroomId: sub.cleanroom_id,
      datasets: sub.datasets,
      runs: runs.rows.map((r) => ({
        id: r.id,
        status: r.status,
        startedAt: r.started_at.toISOString(),
        finishedAt: r.finished_at?.toISOString() ?? null,
        recordsAdded: r.records_added === null ? null : Number(r.records_added),
        recordsRemoved: r.records_removed === null ? null : Number(r.records_removed),
        snapshotId: r.snapshot_id,
        reason: r.reason,
        error: r.error,
      })),
    };
  }

  /** Pausing keeps the delivered data and stops runs (and so charges) until resumed. */
  async pause(consumerId: string, subscriptionId: string): Promise<{ id: string; status: string }> {
    const sub = await this.owned(consumerId, subscriptionId);
    if (sub.status === 'paused') return { id: subscriptionId, status: 'paused' };
    if (sub.status === 'failed') throw new AtollError('CONFLICT', 'the subscription failed; there is nothing to pause');
    await this.o.db.query(`UPDATE subscriptions SET status = 'paused' WHERE id = $1`, [subscriptionId]);
    return { id: subscriptionId, status: 'paused' };
  }

  async resume(consumerId: string, subscriptionId: string): Promise<{ id: string; status: string }> {
    const sub = await this.owned(consumerId, subscriptionId);
    if (sub.status !== 'paused') throw new AtollError('CONFLICT', `the subscription is ${sub.status}, not paused`);
    await this.o.db.query(`UPDATE subscriptions SET status = 'active' WHERE id = $1 AND status = 'paused'`, [subscriptionId]);
    return { id: subscriptionId, status: 'active' };
  }

  async runNow(consumerId: string, subscriptionId: string): Promise<{ id: string; status: string; runJobId: string }> {
    const sub = await this.owned(consumerId, subscriptionId);
    if (sub.status === 'paused') throw new AtollError('CONFLICT', 'the subscription is paused; resume it first');
    const runJobId = await this.o.producer.enqueue(jobs.subscriptionRun, { v: 1, subscriptionId, reason: 'manual', nonce: randomUUID() });
    return { id: subscriptionId, status: sub.status, runJobId };
  }
}

/**
 * The erasure records of a subject under one license (SPEC §5): each delivery that held the subject's rows and was
 * erased after the license began. The caller has checked it may see the license (its subject's device or provider).
 */
export async function erasuresOf(db: Pick<Pool, 'query'>, q: { providerId: string; tid: string; since: Date }): Promise<Erasure[]> {
  const { rows } = await db.query<{ subscription_id: string; consumer_id: string; records: string; removed_at: Date }>(
    'SELECT subscription_id, consumer_id, records, removed_at FROM erasures WHERE provider_id = $1 AND tid = $2 AND removed_at >= $3 ORDER BY removed_at',
    [q.providerId, q.tid, q.since],
  );
  return rows.map((r) => ({ subscriptionId: r.subscription_id, consumer: r.consumer_id, records: Number(r.records), removedAt: r.removed_at.toISOString() }));
}
