// License checks against the Postgres license index (migration 005): the per-TID check of uploads and the per-consumer
// filter of estimates and subscription runs. Both read `license_grants`, one row per live (license, table, use, destination).
import type { Pool } from 'pg';

export type Queryable = Pick<Pool, 'query'>;

export interface LiveLicenseQuery {
  providerId: string;
  tid: string;
  /** The provider's table name (as in the license document's `tables`). */
  table: string;
  /** The moment the license must be live at; now by default. */
  at?: Date;
}

/**
 * Does `tid` hold a live (not expired, not revoked, not superseded) license of `providerId` that covers `table`?
 * One probe of `license_grants_by_tid`: sub-millisecond at millions of licenses (see bench/licenses.bench.ts).
 */
export async function hasLiveLicense(db: Queryable, q: LiveLicenseQuery): Promise<boolean> {
  // A named statement: each connection plans it once, which is most of the cost of so small a query.
  const { rows } = await db.query({
    name: 'atoll-has-live-license',
    text: 'SELECT 1 FROM license_grants WHERE provider_id = $1 AND tid = $2 AND table_name = $3 AND expires_at > $4 LIMIT 1',
    values: [q.providerId, q.tid, q.table, q.at ?? new Date()],
  });
  return rows.length > 0;
}

export interface LiveLicenseFilterQuery {
  providerId: string;
  table: string;
  /** The consumer's approved use case: one of the SPEC's use cases or `custom:<name>`. */
  usecase: string;
  consumerId: string;
  at?: Date;
  /** Only these TIDs (e.g. the subjects of one snapshot); all licensed TIDs when omitted. */
  tids?: readonly string[];
}

/** The SQL behind {@link liveLicenseFilter}, for callers that join or stream it themselves (e.g. with COPY or a cursor). */
export function liveLicenseFilterSql(q: LiveLicenseFilterQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [q.providerId, q.table, q.usecase, q.consumerId, q.at ?? new Date()];
  let text =
    'SELECT DISTINCT tid FROM license_grants WHERE provider_id = $1 AND table_name = $2 AND usecase = $3 ' +
    "AND destination IN ($4, '*') AND expires_at > $5";
  if (q.tids) {
    values.push(q.tids);
    text += ' AND tid = ANY($6::text[])';
  }
  return { text, values };
}

/**
 * The TIDs that hold a live license of `providerId` covering `table` whose uses name `usecase` with a destination of
 * `consumerId` or `*` (SPEC §6 estimates). Sorted, so callers can merge or binary-search it.
 */
export async function liveLicenseFilter(db: Queryable, q: LiveLicenseFilterQuery): Promise<string[]> {
  const { text, values } = liveLicenseFilterSql(q);
  const { rows } = await db.query<{ tid: string }>(`${text} ORDER BY tid`, values);
  return rows.map((r) => r.tid);
}
