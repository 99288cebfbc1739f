// Provider agreements (seed 001: legal approval before deployment): a provider submits the terms its delegated
// licenses stand for (by SHA-256, optionally a URI), an operator approves, rejects or later revokes them. Delegated
// grants count in the license filters only while their provider has an approved agreement with that hash (live.ts).
import { randomUUID } from 'node:crypto';
import { AtollError } from '@atoll/errors';
import type { Queryable } from './live.js';

export type AgreementStatus = 'pending' | 'approved' | 'rejected' | 'revoked';
export const AGREEMENT_STATUSES: readonly AgreementStatus[] = ['pending', 'approved', 'rejected', 'revoked'];

export interface Agreement {
  id: string;
  providerId: string;
  terms: { sha256: string; uri?: string };
  title: string;
  description: string;
  status: AgreementStatus;
  /** Why it was rejected or revoked. */
  reason?: string;
  createdAt: string;
  decidedAt?: string;
}

interface AgreementRow {
  id: string;
  provider_id: string;
  terms_sha256: string;
  terms_uri: string | null;
  title: string;
  description: string;
  status: AgreementStatus;
  reason: string | null;
  created_at: Date;
  decided_at: Date | null;
}

const COLUMNS = 'id, provider_id, terms_sha256, terms_uri, title, description, status, reason, created_at, decided_at';
const SHA256_HEX = /^[0-9a-f]{64}$/;
const UNIQUE_VIOLATION = '23505';

function toAgreement(r: AgreementRow): Agreement {
  return {
    id: r.id,
    providerId: r.provider_id,
    terms: r.terms_uri === null ? { sha256: r.terms_sha256 } : { sha256: r.terms_sha256, uri: r.terms_uri },
    title: r.title,
    description: r.description,
    status: r.status,
    ...(r.reason === null ? {} : { reason: r.reason }),
    createdAt: r.created_at.toISOString(),
    ...(r.decided_at === null ? {} : { decidedAt: r.decided_at.toISOString() }),
  };
}

/** The operator's decisions: which status each may leave from, and the status it leads to. */
const DECISIONS = {
  approve: { from: 'pending', to: 'approved' },
  reject: { from: 'pending', to: 'rejected' },
  revoke: { from: 'approved', to: 'revoked' },
} as const satisfies Record<string, { from: AgreementStatus; to: AgreementStatus }>;
export type AgreementDecision = keyof typeof DECISIONS;

export class Agreements {
  constructor(private readonly o: { db: Queryable }) {}

  /** A provider submits an agreement; it starts pending. The same terms may be open (pending or approved) only once. */
  async submit(input: { providerId: string; terms: { sha256: string; uri?: string }; title: string; description: string }): Promise<Agreement> {
    // The route's schema checks this too; the service does not trust its callers to have one.
    if (!SHA256_HEX.test(input.terms.sha256)) throw new AtollError('VALIDATION_FAILED', 'terms.sha256 must be 64 lower-case hex digits');
    try {
      const { rows } = await this.o.db.query<AgreementRow>(
        `INSERT INTO agreements (id, provider_id, terms_sha256, terms_uri, title, description) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [randomUUID(), input.providerId, input.terms.sha256, input.terms.uri ?? null, input.title, input.description],
      );
      return toAgreement(rows[0]!);
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new AtollError('CONFLICT', 'an agreement with these terms is already pending or approved', { details: { sha256: input.terms.sha256 } });
      }
      throw e;
    }
  }

  /** A provider's own agreements, or (no `providerId`: the operator) everyone's; newest first, at most 500. */
  async list(input: { providerId?: string; status?: AgreementStatus }): Promise<Agreement[]> {
    const { rows } = await this.o.db.query<AgreementRow>(
      `SELECT ${COLUMNS} FROM agreements WHERE ($1::uuid IS NULL OR provider_id = $1) AND ($2::text IS NULL OR status = $2)
       ORDER BY created_at DESC, id LIMIT 500`,
      [input.providerId ?? null, input.status ?? null],
    );
    return rows.map(toAgreement);
  }

  /**
   * The operator approves or rejects a pending agreement, or revokes an approved one. One conditional UPDATE, so two
   * operators deciding at once cannot both win: the loser gets 409. Unknown ids are 404.
   */
  async decide(input: { id: string; decision: AgreementDecision; reason?: string }): Promise<Agreement> {
    const { from, to } = DECISIONS[input.decision];
    const { rows } = await this.o.db.query<AgreementRow>(
      `UPDATE agreements SET status = $3, reason = $4, decided_at = now() WHERE id = $1 AND status = $2 RETURNING ${COLUMNS}`,
      [input.id, from, to, input.reason ?? null],
    );
    if (rows[0]) return toAgreement(rows[0]);
    const { rows: found } = await this.o.db.query<{ status: AgreementStatus }>('SELECT status FROM agreements WHERE id = $1', [input.id]);
    if (!found[0]) throw new AtollError('NOT_FOUND', `no agreement ${input.id}`);
    throw new AtollError('CONFLICT', `the agreement is ${found[0].status}, not ${from}`, { details: { status: found[0].status } });
  }
}
