// The delivery policy (decision 7), the one place that decides which rows a consumer may receive: for each dataset a
// query reads, the subjects holding — now — a live license for the dataset's provider table whose uses name the
// consumer's approved use case and whose destinations name the consumer or `*`. The estimate and every subscription
// run ask it; the sandbox restricts each dataset to its answer before the consumer's SQL sees a row.
import { AtollError } from '@atoll/errors';
import { liveLicenseFilter, type Queryable } from '@atoll/licensing';
import type { SchemaColumn } from '@atoll/lake';

/** The least number of distinct subjects any delivery must hold (SPEC §6); datasets may ask for more. */
export const DEFAULT_MIN_COHORT = 25;

export interface ApprovedConsumer {
  id: string;
  /** The approved use-case category: a SPEC use case or `custom:<name>`. */
  usecase: string;
}

export interface DatasetRecord {
  name: string;
  providerId: string;
  /** The provider's table name, as license documents name it. */
  table: string;
  columns: SchemaColumn[];
  price: { amount: number; currency: string } | null;
  minCohort: number;
}

/** The consumer behind a token, refused unless an operator approved it (every consumer route asks this first). */
export async function approvedConsumer(db: Queryable, consumerId: string): Promise<ApprovedConsumer> {
  const { rows } = await db.query<{ id: string; status: string; use_case_category: string }>('SELECT id, status, use_case_category FROM consumers WHERE id = $1', [consumerId]);
  const consumer = rows[0];
  if (!consumer) throw new AtollError('FORBIDDEN', 'the token names no known consumer');
  if (consumer.status !== 'approved') throw new AtollError('CONSUMER_NOT_APPROVED');
  return { id: consumer.id, usecase: consumer.use_case_category };
}

/** Whether an operator has approved the consumer (and not withdrawn it since). */
export async function isApproved(db: Queryable, consumerId: string): Promise<boolean> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM consumers WHERE id = $1', [consumerId]);
  return rows[0]?.status === 'approved';
}

/** The consumer and its use case whatever its status: for runs that only erase. */
export async function consumerOf(db: Queryable, consumerId: string): Promise<ApprovedConsumer> {
  const { rows } = await db.query<{ id: string; use_case_category: string }>('SELECT id, use_case_category FROM consumers WHERE id = $1', [consumerId]);
  if (!rows[0]) throw new AtollError('NOT_FOUND', `no consumer ${consumerId}`);
  return { id: rows[0].id, usecase: rows[0].use_case_category };
}

/** Every approved dataset (or only `names`), with its provider table, columns, price and cohort minimum. */
export async function datasetRecords(db: Queryable, names?: readonly string[]): Promise<DatasetRecord[]> {
  const { rows } = await db.query<{ name: string; provider_id: string; table_name: string; columns: SchemaColumn[]; price_amount: string | null; price_currency: string | null; min_cohort: number }>(
    `SELECT d.name, d.provider_id, s.table_name, s.columns, d.price_amount, d.price_currency, d.min_cohort
     FROM datasets d JOIN table_schemas s ON s.id = d.schema_id
     WHERE $1::text[] IS NULL OR d.name = ANY($1::text[]) ORDER BY d.name`,
    [names ?? null],
  );
  return rows.map((r) => ({
    name: r.name,
    providerId: r.provider_id,
    table: r.table_name,
    columns: r.columns,
    price: r.price_amount === null ? null : { amount: Number(r.price_amount), currency: r.price_currency ?? 'usd' },
    minCohort: r.min_cohort,
  }));
}

/** Per dataset, the subjects (TIDs, sorted) whose rows `consumer` may receive at `at`. */
export async function licensedSubjects(db: Queryable, consumer: ApprovedConsumer, datasets: readonly DatasetRecord[], at = new Date()): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const d of datasets) {
    out.set(d.name, await liveLicenseFilter(db, { providerId: d.providerId, table: d.table, usecase: consumer.usecase, consumerId: consumer.id, at }));
  }
  return out;
}

/** The cohort minimum of a delivery reading `datasets`: the strictest of theirs. */
export function cohortMinimum(datasets: readonly DatasetRecord[]): number {
  return Math.max(DEFAULT_MIN_COHORT, ...datasets.map((d) => d.minCohort));
}

export function cohortTooSmall(distinctSubjects: number, minimum: number): AtollError {
  return new AtollError('COHORT_TOO_SMALL', `the query matches ${distinctSubjects} distinct licensed subjects; at least ${minimum} are required`, {
    details: { distinctSubjects, minimum },
  });
}
