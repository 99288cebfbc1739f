// Api uploads whose ingest job is missing. The api answers 202 only after an upload's staging object, its row and its
// job all exist, but two things can still leave a recorded upload without a job: the api stopping between the row and
// the enqueue (then the caller was never answered; with an Idempotency-Key its retry is answered with the recorded
// upload), and Redis losing the last second of jobs in a crash (appendfsync everysec), acknowledged ones included.
// Either way the row stays `pending` for good unless something puts the job back: this pass does, for uploads pending
// longer than any request takes. The ingest job is idempotent per upload (a loaded or already staged one is only
// checked, one whose staged records are gone is rejected with that reason), so putting back a job that was merely slow
// does no harm. A commit job lost the same way (its data files recorded as pending, its job gone with Redis's last
// second) would wait for the table's next upload to queue a commit: requeueStrandedCommits puts it back instead.
import { commitJobs, jobs, type CommitJob, type IngestJob } from '@atoll/queue';
import type { WriterContext } from './ingest.js';

export interface StrandedPass {
  /** Pending uploads old enough to be checked. */
  checked: number;
  /** Of those, how many had no job (queued again) or only a failed one (retried). */
  queued: number;
  retried: number;
}

/**
 * Puts back the ingest job of every api upload (a group-committed batch counts once, by its lead) that has been pending
 * for `olderThanMs` and has no live job; at most `limit` per pass, oldest first.
 */
export async function requeueStrandedUploads(ctx: Pick<WriterContext, 'pool' | 'producer' | 'log'>, opts: { olderThanMs: number; limit?: number }): Promise<StrandedPass> {
  const { rows } = await ctx.pool.query<{ id: string; provider_id: string; table_name: string; staging_key: string }>(
    `SELECT id, provider_id, table_name, staging_key FROM uploads
      WHERE status = 'pending' AND source = 'api' AND (batch_id IS NULL OR batch_id = id)
        AND created_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY created_at LIMIT $2`,
    [opts.olderThanMs, opts.limit ?? 500],
  );
  const pass: StrandedPass = { checked: rows.length, queued: 0, retried: 0 };
  for (const row of rows) {
    const job = { v: 1, uploadId: row.id, providerId: row.provider_id, table: row.table_name, stagingKey: row.staging_key, format: 'ndjson' } satisfies IngestJob;
    const outcome = await ctx.producer.rearm(jobs.ingest, job);
    if (outcome === 'queued') pass.queued += 1;
    if (outcome === 'retried') pass.retried += 1;
  }
  if (pass.queued > 0 || pass.retried > 0) ctx.log.warn({ op: 'uploads.stranded.requeued', ...pass }, 'api uploads without an ingest job were queued again');
  return pass;
}

export interface StrandedCommits {
  /** Tables with a data file pending for longer than the threshold. */
  tables: number;
  /** Of those, how many had no commit job for their current generation (queued) or only a failed one (retried). */
  queued: number;
  retried: number;
}

/**
 * Puts back the commit job of every table whose data files have waited longer than `olderThanMs` for one that is gone
 * (or failed for good). A commit job commits every pending file of its table, and a run bumps the table's generation
 * before it starts, so the job to look for is the current generation's; one still waiting, delayed or running is left
 * alone. At most `limit` tables per pass, the longest-waiting first.
 */
export async function requeueStrandedCommits(ctx: Pick<WriterContext, 'pool' | 'producer' | 'log'>, opts: { olderThanMs: number; limit?: number }): Promise<StrandedCommits> {
  const { rows } = await ctx.pool.query<{ namespace: string; name: string; generation: string | number | null }>(
    `SELECT p.namespace, p.name, s.generation
       FROM (SELECT namespace, name, min(created_at) AS since FROM pending_data_files
              WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1::double precision / 1000)
              GROUP BY namespace, name) p
       LEFT JOIN table_commit_state s USING (namespace, name)
      ORDER BY p.since LIMIT $2`,
    [opts.olderThanMs, opts.limit ?? 500],
  );
  const pass: StrandedCommits = { tables: rows.length, queued: 0, retried: 0 };
  for (const row of rows) {
    // No state row: the recording stopped before enqueueCommit's upsert, which would have made generation 0.
    const job = { v: 1, namespace: row.namespace.split('.'), name: row.name, generation: String(row.generation ?? 0) } satisfies CommitJob;
    const outcome = await ctx.producer.rearm(commitJobs.commit, job);
    if (outcome === 'queued') pass.queued += 1;
    if (outcome === 'retried') pass.retried += 1;
  }
  if (pass.queued > 0 || pass.retried > 0) ctx.log.warn({ op: 'commits.stranded.requeued', ...pass }, 'tables whose pending data files had no commit job were queued again');
  return pass;
}
