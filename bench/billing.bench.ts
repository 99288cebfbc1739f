// Billing benchmarks (issue 10):
// - metering: 10,000 ledger entries (5,000 runs × 2 datasets) inserted unmetered; the stack's cleanroom worker
//   reconciler sends them to stripe-mock as meter events; timed until every entry is acknowledged. Baseline: the same
//   number of bare meter-event POSTs through the stripe library at the same concurrency, no ledger.
// - the cost a run pays for billing: the run-recording transaction of finish() with and without recordRunUsage
//   (one dataset, 100 subjects' counts for the payout split).
import { randomUUID } from 'node:crypto';
import { recordRunUsage, stripeClient } from '@atoll/billing';
import { createPool } from '@atoll/db';
import { compare, type BenchResult } from './harness.js';

interface Fixture {
  consumer: string;
  provider: string;
  dataset: string;
  subscription: string;
  cleanup(): Promise<void>;
}

async function fixture(pool: ReturnType<typeof createPool>): Promise<Fixture> {
  const [provider, consumer, schema, cleanroom, estimate, subscription] = Array.from({ length: 6 }, () => randomUUID());
  const dataset = `bench_billing_${provider!.slice(0, 8)}`;
  await pool.query('INSERT INTO providers (id, name, client_id) VALUES ($1, $2, $3)', [provider, 'bench provider', `bench-${provider}`]);
  await pool.query(`INSERT INTO consumers (id, name, use_case_category, use_case_description, status) VALUES ($1, 'bench consumer', 'analytics', 'billing benchmark', 'approved')`, [consumer]);
  await pool.query(`INSERT INTO table_schemas (id, provider_id, table_name, dataset, columns, status) VALUES ($1, $2, 'bench', $3, '[]', 'approved')`, [schema, provider, dataset]);
  await pool.query(`INSERT INTO datasets (name, provider_id, schema_id, price_amount, price_currency) VALUES ($1, $2, $3, 0.013, 'usd')`, [dataset, provider, schema]);
  await pool.query(`INSERT INTO cleanrooms (id, consumer_id, name, bucket, access_key, policy_name) VALUES ($1, $2, 'bench', $3, 'none', 'none')`, [cleanroom, consumer, `bench-${cleanroom}`]);
  await pool.query(
    `INSERT INTO estimates (id, consumer_id, cleanroom_id, table_name, sql, datasets, records, distinct_subjects, price_per_record, currency) VALUES ($1, $2, $3, 'bench', 'SELECT 1', $4, 0, 0, $5, 'usd')`,
    [estimate, consumer, cleanroom, [dataset], JSON.stringify({ [dataset]: 0.013 })],
  );
  await pool.query(`INSERT INTO subscriptions (id, consumer_id, cleanroom_id, estimate_id, table_name, sql, status, datasets) VALUES ($1, $2, $3, $4, 'bench', 'SELECT 1', 'active', $5)`, [
    subscription,
    consumer,
    cleanroom,
    estimate,
    [dataset],
  ]);
  return {
    consumer: consumer!,
    provider: provider!,
    dataset,
    subscription: subscription!,
    async cleanup() {
      await pool.query('DELETE FROM payout_ledger WHERE provider_id = $1', [provider]);
      await pool.query('DELETE FROM usage_ledger WHERE subscription_id = $1', [subscription]);
      await pool.query('DELETE FROM subscription_runs WHERE subscription_id = $1', [subscription]);
      await pool.query('DELETE FROM subscriptions WHERE id = $1', [subscription]);
      await pool.query('DELETE FROM estimates WHERE id = $1', [estimate]);
      await pool.query('DELETE FROM cleanrooms WHERE id = $1', [cleanroom]);
      await pool.query('DELETE FROM datasets WHERE name = $1', [dataset]);
      await pool.query('DELETE FROM table_schemas WHERE id = $1', [schema]);
      await pool.query('DELETE FROM stripe_objects WHERE key LIKE $1', [`${consumer}%`]);
      await pool.query('DELETE FROM consumers WHERE id = $1', [consumer]);
      await pool.query('DELETE FROM providers WHERE id = $1', [provider]);
    },
  };
}

export async function benchBilling(o: { env: Record<string, string>; repeats: number; entries: number; runs: number }): Promise<BenchResult[]> {
  const pool = createPool(o.env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-bench-billing' });
  const f = await fixture(pool);
  const stripe = stripeClient({ apiBase: o.env.ATOLL_STRIPE_API_BASE!, secretKey: 'sk_test_atoll' });
  const results: BenchResult[] = [];
  try {
    const concurrency = 8;
    const metering = await compare({
      name: 'billing meter events',
      params: { entries: o.entries, concurrency },
      baseline: 'bare stripe meterEvents.create',
      repeats: o.repeats,
      runBaseline: async () => {
        let next = 0;
        const worker = async () => {
          while (next < o.entries) {
            next++;
            await stripe.billing.meterEvents.create({ event_name: 'atoll_usage_usd', identifier: randomUUID(), payload: { stripe_customer_id: 'cus_bench', value: '13000' } });
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
      },
      runAtoll: async () => {
        // Ledger entries as runs write them (two datasets' worth per run), then the worker's reconciler meters them.
        const runs = o.entries / 2;
        const start = process.hrtime.bigint();
        await pool.query(
          `WITH r AS (INSERT INTO subscription_runs (id, subscription_id, status, job_id, finished_at, records_added)
                      SELECT gen_random_uuid(), $1, 'succeeded', 'bench-' || gen_random_uuid(), now(), 1 FROM generate_series(1, $2) RETURNING id)
           INSERT INTO usage_ledger (id, run_id, subscription_id, consumer_id, provider_id, dataset, records, unit_price, amount, currency, month)
           SELECT gen_random_uuid(), r.id, $1, $3, $4, d, 1, 0.013, 0.013, 'usd', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')
           FROM r CROSS JOIN unnest(ARRAY[$5, $5 || '_b']) AS d`,
          [f.subscription, runs, f.consumer, f.provider, f.dataset],
        );
        for (;;) {
          const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM usage_ledger WHERE subscription_id = $1 AND metered_at IS NULL', [f.subscription]);
          if (Number(rows[0]!.n) === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        return Number(process.hrtime.bigint() - start) / 1e9;
      },
    });
    results.push(metering);
    process.stdout.write(`billing: ${(o.entries / metering.atollSeconds).toFixed(0)} meter events/s through the ledger and reconciler, ${(o.entries / metering.baselineSeconds).toFixed(0)}/s bare\n`);

    const addedByTid = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`tid-${i}`, 3]));
    const recordRuns = async (withLedger: boolean): Promise<number> => {
      const ids = Array.from({ length: o.runs }, () => randomUUID());
      await pool.query(`INSERT INTO subscription_runs (id, subscription_id, status, job_id) SELECT u, $1, 'running', 'bench-' || u FROM unnest($2::uuid[]) AS u`, [f.subscription, ids]);
      const client = await pool.connect();
      const start = process.hrtime.bigint();
      try {
        for (const runId of ids) {
          await client.query('BEGIN');
          await client.query(`UPDATE subscription_runs SET status = 'succeeded', finished_at = now(), records_added = 300, records_removed = 0 WHERE id = $1`, [runId]);
          await client.query('UPDATE subscriptions SET state_run_id = $2 WHERE id = $1', [f.subscription, runId]);
          if (withLedger) await recordRunUsage(client, { runId, subscriptionId: f.subscription, status: 'succeeded', recordsAdded: 300, datasets: [f.dataset], addedByTid });
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
      // Seconds per run.
      return Number(process.hrtime.bigint() - start) / 1e9 / o.runs;
    };
    results.push(
      await compare({
        name: 'billing run recording',
        params: { runs: o.runs, subjects: 100 },
        baseline: 'finish() transaction without the ledger',
        repeats: o.repeats,
        runBaseline: () => recordRuns(false),
        runAtoll: () => recordRuns(true),
      }),
    );
  } finally {
    await f.cleanup();
    await pool.end();
  }
  return results;
}
