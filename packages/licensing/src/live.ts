// License checks against the Postgres license index (migration 005): the per-TID check of uploads and the per-consumer
// filter of estimates and subscription runs. Both read `license_grants`, one row per live (license, table, use, destination).
// A delegated grant (agreement_sha256 set) counts only while an approved agreement of its provider has that hash
// (migration 007); device-signed grants (agreement_sha256 NULL) count on the user's signature alone.
import type { Pool } from 'pg';
import { FreshCache, type ChangeFeed } from '@atoll/db';

export type Queryable = Pick<Pool, 'query'>;

/**
 * The condition that a grant of provider `$<n>` counts: device-signed, or under an approved agreement. Approval is
 * read when the query runs (not as of `at`), so revoking an approval takes effect at the next read. The subquery is
 * uncorrelated: Postgres evaluates it once per statement (a hashed subplan over the provider's few agreements).
 */
function countsSql(providerParam: number): string {
  return (
    `AND (agreement_sha256 IS NULL OR agreement_sha256 IN ` +
    `(SELECT a.terms_sha256 FROM agreements a WHERE a.provider_id = $${providerParam} AND a.status = 'approved'))`
  );
}

export interface LiveLicenseQuery {
  providerId: string;
  tid: string;
  /** The provider's table name (as in the license document's `tables`). */
  table: string;
  /** The moment the license must be live at; now by default. */
  at?: Date;
}

/** The query of {@link hasLiveLicense}: $1 provider, $2 TID, $3 table, $4 the moment (e.g. for EXPLAIN in the bench). */
export const HAS_LIVE_LICENSE_SQL = `SELECT 1 FROM license_grants WHERE provider_id = $1 AND tid = $2 AND table_name = $3 AND expires_at > $4 ${countsSql(1)} LIMIT 1`;

/**
 * Does `tid` hold a live (not expired, not revoked, not superseded) license of `providerId` that covers `table`?
 * One probe of `license_grants_by_tid`: sub-millisecond at millions of licenses (see bench/licenses.bench.ts).
 * Uploads come from devices, whose own licenses are device-signed, but the subject may hold only a delegated one:
 * that counts here exactly as in the consumer filter (approved agreement), so "live" means one thing everywhere.
 */
export async function hasLiveLicense(db: Queryable, q: LiveLicenseQuery): Promise<boolean> {
  // A named statement: each connection plans it once, which is most of the cost of so small a query.
  const { rows } = await db.query({
    name: 'atoll-has-live-license-v2',
    text: HAS_LIVE_LICENSE_SQL,
    values: [q.providerId, q.tid, q.table, q.at ?? new Date()],
  });
  return rows.length > 0;
}

/** Until when (ms since epoch) `tid` holds a live license covering `table`: the latest expiry among its grants. */
export const LIVE_LICENSE_UNTIL_SQL = `SELECT max(expires_at) AS until FROM license_grants WHERE provider_id = $1 AND tid = $2 AND table_name = $3 AND expires_at > $4 ${countsSql(1)}`;

/**
 * {@link hasLiveLicense} for the upload path, answered from memory when the same subject uploaded a moment ago. Only
 * "yes" is kept, and only until the earliest of: the license's expiry, a notice that one of the subject's grants
 * changed (revocation, supersession — migration 015's triggers) or that an agreement of the provider did, and one
 * second. So a revocation bites on the next upload in the process that made it, on other replicas when the notice
 * arrives (milliseconds), and within a second even if the notice were lost; a new license counts at once.
 */
export class LiveLicenseCache {
  private readonly cache: FreshCache<true>;

  constructor(private readonly opts: { db: Queryable; feed: ChangeFeed; ttlMs?: number }) {
    this.cache = new FreshCache<true>({
      feed: opts.feed,
      kind: 'license',
      prefixKind: 'license-provider',
      // Keys are provider:tid:table; notices name provider:tid.
      groupOf: (key) => key.slice(0, key.lastIndexOf(':')),
      ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
    });
  }

  async isLive(q: Omit<LiveLicenseQuery, 'at'>): Promise<boolean> {
    const hit = await this.cache.get(`${q.providerId}:${q.tid}:${q.table}`, async () => {
      const { rows } = await this.opts.db.query<{ until: Date | null }>({ name: 'atoll-live-license-until-v1', text: LIVE_LICENSE_UNTIL_SQL, values: [q.providerId, q.tid, q.table, new Date()] });
      const until = rows[0]?.until;
      return until ? { value: true as const, until: until.getTime() } : null;
    });
    return hit === true;
  }

  /** Forgets what is known of a subject's licenses (the process that revoked one need not wait for the notice). */
  forget(providerId: string, tid: string): void {
    this.cache.invalidateGroup(`${providerId}:${tid}`);
  }
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
    `AND destination IN ($4, '*') AND expires_at > $5 ${countsSql(1)}`;
  if (q.tids) {
    values.push(q.tids);
    text += ' AND tid = ANY($6::text[])';
  }
  return { text, values };
}

/**
 * The TIDs that hold a live license of `providerId` covering `table` whose uses name `usecase` with a destination of
 * `consumerId` or `*` (SPEC §6 estimates): device-signed, or delegated under an approved agreement. Sorted, so
 * callers can merge or binary-search it.
 */
export async function liveLicenseFilter(db: Queryable, q: LiveLicenseFilterQuery): Promise<string[]> {
  const { text, values } = liveLicenseFilterSql(q);
  const { rows } = await db.query<{ tid: string }>(`${text} ORDER BY tid`, values);
  return rows.map((r) => r.tid);
}
