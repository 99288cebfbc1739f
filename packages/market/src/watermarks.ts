// Lake maintenance must never expire a snapshot a subscription still reads from: each subscription's watermark is the
// published snapshot its last recorded run read, per dataset.
import type { Pool } from 'pg';

/** The snapshot ids (as strings) that subscriptions reading `dataset` hold as their watermark. */
export async function subscriptionWatermarks(db: Pick<Pool, 'query'>, dataset: string): Promise<string[]> {
  const { rows } = await db.query<{ snapshot: string }>(
    `SELECT DISTINCT r.source_snapshots ->> $1 AS snapshot FROM subscriptions s JOIN subscription_runs r ON r.id = s.state_run_id
     WHERE s.status <> 'failed' AND r.source_snapshots ? $1`,
    [dataset],
  );
  return rows.map((r) => r.snapshot).filter((s): s is string => typeof s === 'string');
}
