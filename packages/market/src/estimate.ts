// An estimate, computed by the cleanroom worker (never in the api process, decision 6): the gated query over the
// licensed rows of the datasets it reads, the cohort check, the monthly update rate and the quote. The api waits for
// the sealed answer (`Producer.call`).
import { join } from 'node:path';
import type { Pool } from 'pg';
import { Duck, gateSelect } from '@atoll/duck';
import { AtollError } from '@atoll/errors';
import { loadPublished, withSandboxedSelect, type Lake } from '@atoll/lake';
import type { EstimateJob } from '@atoll/queue';
import { approvedConsumer, cohortMinimum, cohortTooSmall, datasetRecords, licensedSubjects } from './delivery.js';
import { money, monthlyUpdateRate, quote, recordsAddedRecently } from './pricing.js';

export interface EstimateContext {
  pool: Pool;
  lake: Lake;
  workDir: string;
  limits: { memoryLimit: string; threads: number; timeoutMs: number; maxQueryLength?: number; maxResultRows?: number };
}

export interface EstimateAnswer {
  id: string;
  records: number;
  distinctSubjects: number;
  monthlyUpdateRate: number;
  sample: Record<string, unknown>[];
  price: { initial: number; monthly: number; currency: string };
  datasets: string[];
}

/** Which published datasets `sql` reads, after the gate (SQL_REJECTED with the reason otherwise). */
export async function gatedDatasets(sql: string, known: readonly string[], maxLength?: number): Promise<string[]> {
  const probe = await Duck.open({ memoryLimit: '64MB', threads: 1 });
  try {
    return (await gateSelect(probe, sql, { datasets: new Set(known), ...(maxLength ? { maxLength } : {}) })).tables;
  } finally {
    probe.close();
  }
}

export async function computeEstimate(ctx: EstimateContext, job: EstimateJob): Promise<EstimateAnswer> {
  const consumer = await approvedConsumer(ctx.pool, job.consumerId);
  const room = await ctx.pool.query('SELECT 1 FROM cleanrooms WHERE id = $1 AND consumer_id = $2', [job.cleanroomId, consumer.id]);
  if (room.rowCount !== 1) throw new AtollError('NOT_FOUND', `no cleanroom ${job.cleanroomId}`);
  const all = await datasetRecords(ctx.pool);
  const tables = await gatedDatasets(job.sql, all.map((d) => d.name), ctx.limits.maxQueryLength);
  const read = all.filter((d) => tables.includes(d.name));
  // Before the query runs: a query over an unpriced dataset cannot be bought, so it is not worth running.
  const price = quote(read);
  const published = await loadPublished(ctx.lake, read);
  const licensed = await licensedSubjects(ctx.pool, consumer, read);
  const result = await withSandboxedSelect({
    lake: ctx.lake,
    sql: job.sql,
    datasets: published.map((d) => ({ ...d, subjects: licensed.get(d.name) ?? [] })),
    knownDatasets: new Set(read.map((d) => d.name)),
    limits: { ...ctx.limits, tempDirectory: join(ctx.workDir, 'estimates', job.estimateId) },
    use: async (_duck, r) => r,
  });
  const minimum = cohortMinimum(read);
  if (result.distinctSubjects < minimum) throw cohortTooSmall(result.distinctSubjects, minimum);
  const rate = monthlyUpdateRate({
    addedRecently: published.reduce((a, d) => a + recordsAddedRecently(d.table), 0),
    inputRecords: result.inputRecords,
    records: result.records,
  });
  const answer: EstimateAnswer = {
    id: job.estimateId,
    records: result.records,
    distinctSubjects: result.distinctSubjects,
    monthlyUpdateRate: rate,
    sample: result.sample,
    price: { initial: money(price.perRecord * result.records), monthly: money(price.perRecord * rate), currency: price.currency },
    datasets: read.map((d) => d.name),
  };
  await ctx.pool.query(
    `INSERT INTO estimates (id, consumer_id, cleanroom_id, table_name, sql, datasets, records, distinct_subjects, monthly_update_rate, price_per_record, currency)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
    [job.estimateId, consumer.id, job.cleanroomId, job.table, job.sql, answer.datasets, answer.records, answer.distinctSubjects, rate, JSON.stringify(price.prices), price.currency],
  );
  return answer;
}
