// The usage ledger and the payout ledger: what a subscription run charges, written inside the transaction that
// records the run (so exactly once), and who earns it (the dataset's provider and, within it, each subject).
import type { PoolClient } from 'pg';

/** A provider's revenue share until the operator sets one (PUT /v1/providers/{id}/revenue-share). */
export const DEFAULT_REVENUE_SHARE = '0.7';

export interface RunUsage {
  runId: string;
  subscriptionId: string;
  status: 'succeeded' | 'withheld';
  recordsAdded: number;
  /** The datasets the run's query read; each delivered record is charged each one's unit price. */
  datasets: readonly string[];
  /** Records added per subject (TID), when the run knows them; they split the providers' payouts. */
  addedByTid?: Record<string, number> | undefined;
}

type Tx = Pick<PoolClient, 'query'>;

/**
 * Charges a recorded run: one ledger entry per dataset read, at the unit price the subscription's estimate quoted,
 * with the provider's payout split by subject. Call it with the transaction that marks the run finished. Withheld
 * runs and runs that added nothing charge nothing; a second call for the same run adds nothing (unique run+dataset).
 */
export async function recordRunUsage(tx: Tx, run: RunUsage): Promise<number> {
  if (run.status !== 'succeeded' || run.recordsAdded <= 0 || run.datasets.length === 0) return 0;
  const entries = await tx.query<{ id: string; provider_id: string }>(
    `INSERT INTO usage_ledger (id, run_id, subscription_id, consumer_id, provider_id, dataset, records, unit_price, amount, currency, month)
     SELECT gen_random_uuid(), $1, s.id, s.consumer_id, d.provider_id, d.name, $3::bigint, p.unit, $3::bigint * p.unit, p.currency,
            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')
     FROM subscriptions s
     JOIN estimates e ON e.id = s.estimate_id
     JOIN datasets d ON d.name = ANY($4::text[])
     -- The price the estimate quoted (exact: the jsonb number's text as numeric); the dataset's price if it quoted none.
     CROSS JOIN LATERAL (SELECT COALESCE((e.price_per_record ->> d.name)::numeric, d.price_amount) AS unit, COALESCE(e.currency, d.price_currency) AS currency) p
     WHERE s.id = $2
     ON CONFLICT (run_id, dataset) DO NOTHING
     RETURNING id, provider_id`,
    [run.runId, run.subscriptionId, run.recordsAdded, run.datasets],
  );
  if (entries.rows.length === 0) return 0;
  // Subjects' counts must add up to the records charged; what they do not cover is credited to the provider
  // unattributed (tid ''), so the payouts still balance the charges.
  const counts = Object.entries(run.addedByTid ?? {}).filter(([, n]) => n > 0);
  const covered = counts.reduce((a, [, n]) => a + n, 0);
  const split = covered <= run.recordsAdded ? counts : [];
  const rest = run.recordsAdded - split.reduce((a, [, n]) => a + n, 0);
  if (rest > 0) split.push(['', rest]);
  await tx.query(
    `INSERT INTO payout_ledger (entry_id, provider_id, tid, records, share, amount, currency, month)
     SELECT l.id, l.provider_id, t.tid, t.n, sh.share, t.n * l.unit_price * sh.share, l.currency, l.month
     FROM usage_ledger l
     CROSS JOIN unnest($2::text[], $3::bigint[]) AS t(tid, n)
     CROSS JOIN LATERAL (SELECT COALESCE((SELECT r.share FROM revenue_shares r WHERE r.provider_id = l.provider_id), $4::numeric) AS share) sh
     WHERE l.id = ANY($1::uuid[])`,
    [entries.rows.map((r) => r.id), split.map(([t]) => t), split.map(([, n]) => n), DEFAULT_REVENUE_SHARE],
  );
  return entries.rows.length;
}
