// Group commit of small api uploads: uploads of one table that arrive while the previous batch is being written share
// one staging object, one multi-row INSERT and one ingest job. Each caller is answered only after all three are done,
// so an acknowledged record is in staging, recorded and queued — a crash of the api loses nothing it acknowledged.
import { randomUUID } from 'node:crypto';
import type { Pool } from '@atoll/db';
import { AtollError } from '@atoll/errors';
import { jobs, type Producer } from '@atoll/queue';
import type { ObjectStore } from '@atoll/storage';

/** API uploads live outside the provider-writable bulk prefix (<providerId>/…) so a provider cannot overwrite them. */
export function apiUploadKey(providerId: string, table: string, uploadId: string): string {
  return `_api/${providerId}/${table}/${uploadId}.ndjson`;
}

interface Waiting {
  uploadId: string;
  body: Buffer;
  records: number;
  bytes: number;
  resolve: (uploadId: string) => void;
  reject: (e: unknown) => void;
}

interface Group {
  providerId: string;
  table: string;
  waiting: Waiting[];
  /** Batches of this group being written now. */
  writers: number;
}

export interface UploadBatcherOptions {
  pool: Pool;
  store: ObjectStore;
  producer: Producer;
  bucket: string;
  /** A batch closes at this many staged bytes (the uploads after it wait for the next one). */
  maxBatchBytes?: number;
  maxBatchUploads?: number;
  /**
   * Batches of one table written at once. More than one keeps latency near one write when writes are slow (a loaded
   * MinIO): arrivals need not wait for the batch before theirs to finish, only for a free writer.
   */
  maxWriters?: number;
}

export class UploadBatcher {
  private readonly groups = new Map<string, Group>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxBatchBytes: number;
  private readonly maxBatchUploads: number;
  private readonly maxWriters: number;

  constructor(private readonly o: UploadBatcherOptions) {
    this.maxBatchBytes = o.maxBatchBytes ?? 8 * 1024 * 1024;
    this.maxBatchUploads = o.maxBatchUploads ?? 2000;
    this.maxWriters = o.maxWriters ?? 4;
  }

  /**
   * Stages one validated upload (normalised NDJSON) with whatever else arrives for the same table meanwhile; resolves
   * with its upload id once the batch is durable, rejects (and leaves nothing of the batch behind) otherwise.
   */
  stage(upload: { providerId: string; table: string; body: Buffer; records: number; bytes: number }): Promise<string> {
    const groupKey = `${upload.providerId}/${upload.table}`;
    let group = this.groups.get(groupKey);
    if (!group) this.groups.set(groupKey, (group = { providerId: upload.providerId, table: upload.table, waiting: [], writers: 0 }));
    const g = group;
    return new Promise<string>((resolve, reject) => {
      g.waiting.push({ uploadId: randomUUID(), body: upload.body, records: upload.records, bytes: upload.bytes, resolve, reject });
      // A writer that is already waiting to start (it yields a turn first) takes this upload too.
      if (g.writers >= this.maxWriters || g.waiting.length > 1) return;
      g.writers += 1;
      // Yield once so requests already parsed in this turn of the event loop join the first batch too.
      const run = new Promise<void>((done) => setImmediate(() => void this.drain(groupKey, g).finally(done)));
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    });
  }

  private async drain(groupKey: string, g: Group): Promise<void> {
    try {
      while (g.waiting.length > 0) {
        let bytes = 0;
        let n = 0;
        while (n < g.waiting.length && n < this.maxBatchUploads && (n === 0 || bytes + g.waiting[n]!.body.length <= this.maxBatchBytes)) {
          bytes += g.waiting[n]!.body.length;
          n += 1;
        }
        const batch = g.waiting.splice(0, n);
        try {
          await this.write(g, batch);
          for (const w of batch) w.resolve(w.uploadId);
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      g.writers -= 1;
      if (g.waiting.length === 0 && g.writers === 0) this.groups.delete(groupKey);
    }
  }

  /** Staging object and rows, then the job: a failure at any step takes back the steps before it. */
  private async write(g: Group, batch: Waiting[]): Promise<void> {
    const lead = batch[0]!.uploadId;
    const key = apiUploadKey(g.providerId, g.table, lead);
    const { bucket } = this.o;
    // Object and rows at once: neither is seen by the writer before the job exists, and a failure of either takes
    // back the other (a crash in between leaves an unacknowledged pending row or object, never a lost record).
    const [put, rows] = await Promise.allSettled([
      this.o.store.putObject(bucket, key, batch.length === 1 ? batch[0]!.body : Buffer.concat(batch.map((w) => w.body)), { contentType: 'application/x-ndjson' }),
      this.o.pool.query({
        name: 'atoll-insert-upload-batch-v1',
        text: `INSERT INTO uploads (id, provider_id, table_name, source, staging_key, records, bytes, status, batch_id)
               SELECT u.id, $1, $2, 'api', $3, u.records, u.bytes, 'pending', $4 FROM unnest($5::uuid[], $6::int[], $7::bigint[]) AS u(id, records, bytes)`,
        values: [g.providerId, g.table, key, lead, batch.map((w) => w.uploadId), batch.map((w) => w.records), batch.map((w) => w.bytes)],
      }),
    ]);
    if (put.status === 'rejected' || rows.status === 'rejected') {
      if (rows.status === 'fulfilled') await this.o.pool.query('DELETE FROM uploads WHERE batch_id = $1', [lead]).catch(() => undefined);
      if (put.status === 'fulfilled') await this.o.store.removeObject(bucket, key).catch(() => undefined);
      throw put.status === 'rejected' ? put.reason : (rows as PromiseRejectedResult).reason;
    }
    try {
      await this.o.producer.enqueue(jobs.ingest, { v: 1, uploadId: lead, providerId: g.providerId, table: g.table, stagingKey: key, format: 'ndjson' });
    } catch (e) {
      await this.o.pool.query('DELETE FROM uploads WHERE batch_id = $1', [lead]).catch(() => undefined);
      await this.o.store.removeObject(bucket, key).catch(() => undefined);
      throw new AtollError('DEPENDENCY_UNAVAILABLE', 'queue', { cause: e });
    }
  }

  /** Waits for the batches being written (shutdown: every waiting caller gets its answer). */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
