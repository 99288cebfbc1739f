// Typed BullMQ job definitions shared by producers (api, writer) and workers: queue name, versioned payload, job id.
import { Queue, QueueEvents, Worker, UnrecoverableError, type Job, type JobsOptions, type WorkerOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

export { UnrecoverableError, type Job };

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

  events(name: string): QueueEvents {
    return new QueueEvents(name, { connection: this.connection.duplicate(), prefix: this.prefix });
  }

  rawQueue(name: string): Queue {
    return this.queue(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

export function startWorker<T>(
  def: JobDefinition<T>,
  processor: (job: Job<T>) => Promise<unknown>,
  opts: { connection: Redis; concurrency: number; prefix?: string } & Partial<WorkerOptions>,
): Worker<T> {
  const { connection, concurrency, prefix, ...rest } = opts;
  return new Worker<T>(def.queue, processor, { connection, concurrency, prefix: prefix ?? 'atoll', ...rest });
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
