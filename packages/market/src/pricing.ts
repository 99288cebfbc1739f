// What an estimate quotes: the per-record price of the datasets a query reads, and how many records a month the
// subscription is likely to add, from the datasets' own snapshot history.
import { AtollError } from '@atoll/errors';
import type { LoadedTable } from '@atoll/iceberg';
import type { DatasetRecord } from './delivery.js';

const DAY_MS = 86_400_000;
export const RATE_WINDOW_DAYS = 30;

export interface Quote {
  /** Per delivered record: the sum of the per-record prices of the datasets the query reads (a joined row carries data of each). */
  perRecord: number;
  currency: string;
  /** Per dataset read, its price: recorded with the estimate so billing charges what was quoted. */
  prices: Record<string, number>;
}

/** The price of records from `datasets`; a dataset without a price cannot be bought, nor can mixed currencies. */
export function quote(datasets: readonly DatasetRecord[]): Quote {
  const unpriced = datasets.filter((d) => d.price === null).map((d) => d.name);
  if (unpriced.length > 0) throw new AtollError('DATASET_NOT_PRICED', unpriced.join(', '), { details: { datasets: unpriced } });
  const currencies = [...new Set(datasets.map((d) => d.price!.currency))];
  if (currencies.length !== 1) throw new AtollError('DATASET_NOT_PRICED', `the datasets are priced in different currencies (${currencies.join(', ')})`);
  const prices = Object.fromEntries(datasets.map((d) => [d.name, d.price!.amount]));
  return { perRecord: Object.values(prices).reduce((a, b) => a + b, 0), currency: currencies[0]!, prices };
}

/** Records appended to a table in the last `RATE_WINDOW_DAYS` days, from its snapshot summaries (compactions excluded). */
export function recordsAddedRecently(table: LoadedTable | null, now = Date.now()): number {
  if (!table) return 0;
  const since = now - RATE_WINDOW_DAYS * DAY_MS;
  let added = 0;
  for (const s of table.metadata.snapshots) {
    if (s['timestamp-ms'] < since || s.summary.operation === 'replace') continue;
    added += Number(s.summary['added-records'] ?? 0);
  }
  return added;
}

/**
 * Records a month the query is likely to deliver: what its datasets added in the last 30 days, scaled by the share of
 * input rows the query keeps today (its selectivity).
 */
export function monthlyUpdateRate(opts: { addedRecently: number; inputRecords: number; records: number }): number {
  if (opts.inputRecords === 0 || opts.addedRecently === 0) return 0;
  return Math.round(opts.addedRecently * Math.min(1, opts.records / opts.inputRecords) * 100) / 100;
}

export const money = (x: number): number => Math.round(x * 100) / 100;
