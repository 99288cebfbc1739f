// Typed BullMQ job definitions shared by producers (api, writer) and workers: queue name, versioned payload, job id.
import { Queue, QueueEvents, Worker, UnrecoverableError, type Job, type JobsOptions, type WorkerOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { newReplyKey, sealReply, type CallOutcome } from './call.js';

export { UnrecoverableError, type Job };
export { newReplyKey, sealReply, type CallOutcome, type SealedReply } from './call.js';

/** A call's payload as the worker receives it: the job data plus the caller's reply key. */
export type CallData<T> = T & { replyTo: string };

export interface IngestJob {
  v: 1;
  uploadId: string;
  providerId: string;
  table: string;
  stagingKey: string;
  /** `bulk`: a file a provider put over S3 (SPEC §4); its key decides format and compression (@atoll/bulk). */
  format: 'ndjson' | 'csv' | 'bulk';
}

export interface PrepareJob {
  v: 1;
  providerId: string;
  table: string;
  dataset: string;
  /** The raw-table snapshot whose added files are to be cleaned and published. */
  rawSnapshotId: string;
}

export interface SubscriptionRunJob {
  v: 1;
  subscriptionId: string;
  reason: 'initial' | 'daily' | 'manual';
}

/** An estimate, run by the cleanroom worker's sandbox; the api waits for the sealed answer (see `call`). */
export interface EstimateJob {
  v: 1;
  estimateId: string;
  consumerId: string;
  cleanroomId: string;
  table: string;
  sql: string;
}

/** Cleanroom provisioning: bucket, policy and key are made by the cleanroom worker, which holds the admin rights. */
export type ProvisionJob =
  | { v: 1; action: 'create'; cleanroomId: string; consumerId: string; name: string }
  | { v: 1; action: 'rotate'; cleanroomId: string; consumerId: string; nonce: string }
  /** A provider's bulk key (a MinIO service account scoped to its staging prefix), minted by the same worker. */
  | { v: 1; action: 'bulk-key'; providerId: string; expiresAt: string; nonce: string }
  | { v: 1; action: 'bulk-revoke'; providerId: string; accessKeyId: string; nonce: string }
  /** A consumer no longer approved: every key of its cleanrooms is deleted. */
  | { v: 1; action: 'withdraw'; consumerId: string; nonce: string };

export interface JobDefinition<T> {
  queue: string;
  /** Deterministic id: the same logical work enqueued twice is one job (BullMQ dedupes by jobId). */
  jobId(data: T): string;
  options: JobsOptions;
}

const retrying: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const jobs = {
  ingest: { queue: 'ingest', jobId: (d: IngestJob) => `ingest-${d.uploadId}`, options: retrying } satisfies JobDefinition<IngestJob>,
  prepare: {
    queue: 'prepare',
    jobId: (d: PrepareJob) => `prepare-${d.providerId}-${d.table}-${d.rawSnapshotId}`,
    options: retrying,
  } satisfies JobDefinition<PrepareJob>,
  subscriptionRun: {
    queue: 'subscription',
    // Runs are keyed by subscription and a caller-chosen nonce so "run now" can enqueue while a daily run exists.
    jobId: (d: SubscriptionRunJob & { nonce?: string }) => `sub-${d.subscriptionId}-${d.reason}-${d.nonce ?? 'once'}`,
    options: retrying,
  } satisfies JobDefinition<SubscriptionRunJob & { nonce?: string }>,
  /** Request/reply: not retried (the caller is waiting and answers the user), gone from Redis soon after. */
  estimate: {
    queue: 'estimate',
    jobId: (d: EstimateJob) => `estimate-${d.estimateId}`,
    options: { attempts: 1, removeOnComplete: { age: 300 }, removeOnFail: { age: 3600 } },
  } satisfies JobDefinition<EstimateJob>,
  provision: {
    queue: 'provision',
    jobId: (d: ProvisionJob) => (d.action === 'create' ? `provision-${d.cleanroomId}-create` : `provision-${d.action}-${d.nonce}`),
    options: { attempts: 1, removeOnComplete: { age: 300 }, removeOnFail: { age: 3600 } },
  } satisfies JobDefinition<ProvisionJob>,
} as const;

export function redisConnection(url: string, opts: { forWorker?: boolean } = {}): Redis {
  const options: RedisOptions = {
    // Workers block on Redis; BullMQ requires unlimited retries per request for them.
    maxRetriesPerRequest: opts.forWorker ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
  };
  return new Redis(url, options);
}

export class Producer {
  private readonly queues = new Map<string, Queue>();
  constructor(private readonly connection: Redis, private readonly prefix = 'atoll') {}

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  async enqueue<T extends object>(def: JobDefinition<T>, data: T, opts: JobsOptions = {}): Promise<string> {
    const id = def.jobId(data);
    await this.queue(def.queue).add(def.queue, data, { ...def.options, ...opts, jobId: id });
    return id;
  }

  /**
   * Enqueues, or puts back to wait a job of the same id that failed for good (its attempts spent, or stalled more than
   * BullMQ allows: a worker killed twice while holding it). A plain enqueue of a failed job's id is a silent no-op,
   * which would leave its work undone until the failed job is cleaned up.
   */
  async rearm<T extends object>(def: JobDefinition<T>, data: T): Promise<'queued' | 'retried' | 'present'> {
    const id = def.jobId(data);
    const existing = await this.queue(def.queue).getJob(id);
    if (!existing) {
      await this.enqueue(def, data);
      return 'queued';
    }
    if (await existing.isFailed()) {
      try {
        await existing.retry('failed');
      } catch (e) {
        // Two reconcilers may race to retry it; the loser finds it no longer failed. Anything else is an error.
        if (await existing.isFailed()) throw e;
      }
      return 'retried';
    }
    return 'present';
  }

  private readonly eventStreams = new Map<string, Promise<QueueEvents>>();
  private readonly ownConnections: Redis[] = [];

  /**
   * Request/reply: enqueues `data` and waits up to `timeoutMs` for the worker's sealed answer (see call.ts). Rejects
   * with CallTimeoutError when no worker answered in time (the job is then removed if it had not started).
   */
  async call<T extends object, R>(def: JobDefinition<T>, data: T, timeoutMs: number): Promise<CallOutcome<R>> {
    let events = this.eventStreams.get(def.queue);
    if (!events) {
      events = this.listenFromNow(def.queue);
      this.eventStreams.set(def.queue, events);
      events.catch(() => this.eventStreams.delete(def.queue));
    }
    const listening = await events;
    const key = newReplyKey();
    const queue = this.queue(def.queue);
    const job = await queue.add(def.queue, { ...data, replyTo: key.publicKey }, { ...def.options, jobId: def.jobId(data) });
    try {
      return key.open<R>(await job.waitUntilFinished(listening, timeoutMs));
    } catch (e) {
      if (e instanceof Error && /timed out before finishing/i.test(e.message)) {
        await job.remove().catch(() => undefined);
        throw new CallTimeoutError(def.queue, timeoutMs);
      }
      throw e;
    }
  }

  /**
   * A QueueEvents that reads the queue's event stream from its current end. By default QueueEvents starts at '$' when
   * its first XREAD goes out, which is after waitUntilReady() resolved: a reply published in between was missed, and
   * the call waited for its whole timeout (seen once in CI: an operator's reject hung past the client's 30 s).
   */
  private async listenFromNow(name: string): Promise<QueueEvents> {
    const tail = await this.connection.xrevrange(this.queue(name).keys.events!, '+', '-', 'COUNT', 1);
    const e = this.events(name, tail[0]?.[0] ?? '0-0');
    await e.waitUntilReady();
    return e;
  }

  events(name: string, lastEventId?: string): QueueEvents {
    // QueueEvents blocks on XREAD: like a worker, its connection must retry forever.
    const connection = this.connection.duplicate({ maxRetriesPerRequest: null });
    this.ownConnections.push(connection);
    return new QueueEvents(name, { connection, prefix: this.prefix, ...(lastEventId ? { lastEventId } : {}) });
  }

  rawQueue(name: string): Queue {
    return this.queue(name);
  }

  async close(): Promise<void> {
    const streams = [...this.eventStreams.values()];
    this.eventStreams.clear();
    await Promise.all(streams.map(async (p) => (await p.catch(() => null))?.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    for (const c of this.ownConnections.splice(0)) c.disconnect();
  }
}

export function startWorker<T>(
  def: JobDefinition<T>,
  processor: (job: Job<T>) => Promise<unknown>,
  opts: { connection: Redis; concurrency: number; prefix?: string } & Partial<WorkerOptions>,
): Worker<T> {
  const { connection, concurrency, prefix, ...rest } = opts;
  // A job whose worker died (SIGKILL, OOM, node loss) is handed to another worker once its lock lapses and the next
  // stall check sees it: with these, within 30 s rather than BullMQ's default of up to 60 s. Locks are renewed every
  // lockDuration / 2 off the event loop's timers; no step of ours blocks the loop for anything near 20 s. Every job of
  // ours is idempotent, so a job whose workers died under it is retried up to 5 times (BullMQ's default, 1, fails a
  // job for good the second time: seen with the writer killed 20 times in a row).
  return new Worker<T>(def.queue, processor, { connection, concurrency, prefix: prefix ?? 'atoll', lockDuration: 20_000, stalledInterval: 10_000, maxStalledCount: 5, ...rest });
}

export class CallTimeoutError extends Error {
  constructor(queue: string, ms: number) {
    super(`no ${queue} worker answered within ${ms} ms`);
    this.name = 'CallTimeoutError';
  }
}

/**
 * Serves request/reply calls: `handler`'s value (or the user-facing AtollError it throws: its code, message and
 * details) is sealed to the caller's key. Other errors fail the job, and the caller sees a failure.
 */
export function serveCalls<T, R>(
  def: JobDefinition<T>,
  handler: (job: Job<CallData<T>>) => Promise<R>,
  opts: { connection: Redis; concurrency: number; prefix?: string } & Partial<WorkerOptions>,
): Worker<CallData<T>> {
  return startWorker<CallData<T>>(def, async (job) => {
    let outcome: CallOutcome<R>;
    try {
      outcome = { ok: true, value: await handler(job) };
    } catch (e) {
      const err = e as { name?: unknown; code?: unknown; status?: unknown; message?: unknown; details?: unknown };
      if (err.name !== 'AtollError' || typeof err.code !== 'string' || typeof err.status !== 'number') throw e;
      outcome = { ok: false, error: { code: err.code, message: String(err.message), ...(err.details ? { details: err.details as Record<string, unknown> } : {}) } };
    }
    return sealReply(job.data.replyTo, outcome);
  }, opts);
}

// ---- metadata writers and table maintenance (issue 3) ----------------------------------------------------------

export interface CommitJob {
  v: 1;
  namespace: string[];
  name: string;
  /** The table's commit generation when the file was recorded (see migration 004): one job per generation. */
  generation: string;
}

export interface MaintenanceJob {
  v: 1;
  namespace: string[];
  name: string;
}

/**
 * Removes every file of a table the catalog dropped with `purgeRequested` (the REST catalog's drop). The api holds no
 * delete right on the lake, so the writer does it; the job is delayed so commits in flight when the table was dropped
 * have settled, and it deletes nothing while any catalog entry still points under `location`.
 */
export interface PurgeTableJob {
  v: 1;
  namespace: string[];
  name: string;
  /** The table's location as its metadata recorded it (s3://<lake bucket>/<key>). */
  location: string;
  /** The dropped table's uuid: one purge per table, however often the drop is retried. */
  tableUuid: string;
}

const tableKey = (namespace: string[], name: string): string => [...namespace, name].join('.');

export const commitJobs = {
  /** Appends every pending data file of one table in one snapshot; uploads of one generation share the job. */
  commit: {
    queue: 'commit',
    jobId: (d: CommitJob) => `commit-${tableKey(d.namespace, d.name)}-${d.generation}`,
    options: { ...retrying, attempts: 12, removeOnComplete: { age: 24 * 3600, count: 1000 } },
  } satisfies JobDefinition<CommitJob>,
  /** Compaction, manifest rewrite, snapshot expiry and orphan removal of one table, run by a job scheduler. */
  maintenance: {
    queue: 'maintenance',
    jobId: (d: MaintenanceJob) => `maintenance-${tableKey(d.namespace, d.name)}`,
    options: { attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  } satisfies JobDefinition<MaintenanceJob>,
  purge: {
    queue: 'purge',
    jobId: (d: PurgeTableJob) => `purge-${d.tableUuid}`,
    options: retrying,
  } satisfies JobDefinition<PurgeTableJob>,
} as const;

/** Creates or updates the repeating maintenance job of one table (one BullMQ job scheduler per table). */
export async function upsertMaintenanceScheduler(producer: Producer, data: MaintenanceJob, everyMs: number): Promise<string> {
  const def = commitJobs.maintenance;
  const schedulerId = def.jobId(data);
  await producer.rawQueue(def.queue).upsertJobScheduler(schedulerId, { every: everyMs }, { name: def.queue, data, opts: def.options });
  return schedulerId;
}

export async function removeMaintenanceScheduler(producer: Producer, data: Pick<MaintenanceJob, 'namespace' | 'name'>): Promise<boolean> {
  return producer.rawQueue(commitJobs.maintenance.queue).removeJobScheduler(commitJobs.maintenance.jobId({ v: 1, ...data }));
}

// ---- bulk ingest over S3 (issue 9) ------------------------------------------------------------------------------

export interface BulkReconcileJob {
  v: 1;
}

export const bulkJobs = {
  /** Lists the staging bucket for objects no bucket notification announced; one scheduler for the deployment. */
  reconcile: {
    queue: 'bulk-reconcile',
    jobId: () => 'bulk-reconcile',
    options: { attempts: 1, removeOnComplete: { count: 20 }, removeOnFail: { count: 50 } },
  } satisfies JobDefinition<BulkReconcileJob>,
} as const;

export async function upsertBulkReconcileScheduler(producer: Producer, everyMs: number): Promise<string> {
  const def = bulkJobs.reconcile;
  const schedulerId = def.jobId();
  await producer.rawQueue(def.queue).upsertJobScheduler(schedulerId, { every: everyMs }, { name: def.queue, data: { v: 1 }, opts: def.options });
  return schedulerId;
}
