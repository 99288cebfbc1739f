// A buyer's application (SPEC §3, self-service side): a consumer person applies for its organisation — the `atoll_org`
// its Keycloak account names — with a use case, and reads the operator's decision. Applying again while pending
// replaces the name and use case; a rejected organisation may apply again (it becomes pending, the reason is
// cleared); an approved one cannot change its use case here (an operator would have to decide again).
import type { Pool } from 'pg';
import { AtollError } from '@atoll/errors';
import type { ConsumerApplication } from './listings.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Row {
  id: string;
  name: string;
  status: ConsumerApplication['status'];
  use_case_category: string;
  use_case_description: string;
  decision_reason: string | null;
  created_at: Date;
  decided_at: Date | null;
}

const COLUMNS = 'id, name, status, use_case_category, use_case_description, decision_reason, created_at, decided_at';

function toApplication(r: Row): ConsumerApplication {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    useCase: { category: r.use_case_category, description: r.use_case_description },
    reason: r.decision_reason,
    createdAt: r.created_at.toISOString(),
    decidedAt: r.decided_at?.toISOString() ?? null,
  };
}

function organisationId(orgId: string): string {
  if (!UUID.test(orgId)) throw new AtollError('FORBIDDEN', 'your account names no consumer organisation (its atoll_org must be a UUID); ask your operator');
  return orgId.toLowerCase();
}

/** The organisation's application, whatever its state; NOT_FOUND before the first one. */
export async function applicationOf(db: Pick<Pool, 'query'>, orgId: string): Promise<ConsumerApplication> {
  const id = organisationId(orgId);
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM consumers WHERE id = $1`, [id]);
  if (!rows[0]) throw new AtollError('NOT_FOUND', 'your organisation has not applied yet');
  return toApplication(rows[0]);
}

/** Files or replaces the organisation's application; `created` says whether it is the first one. */
export async function apply(
  db: Pick<Pool, 'query'>,
  orgId: string,
  input: { name: string; useCase: { category: string; description: string } },
): Promise<{ application: ConsumerApplication; created: boolean }> {
  const id = organisationId(orgId);
  // One statement: insert, or update a pending or rejected row; an approved row is left alone (no row returned).
  const { rows } = await db.query<Row & { created: boolean }>(
    `INSERT INTO consumers (id, name, use_case_category, use_case_description, status) VALUES ($1, $2, $3, $4, 'pending')
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, use_case_category = EXCLUDED.use_case_category,
       use_case_description = EXCLUDED.use_case_description, status = 'pending', decision_reason = NULL, decided_at = NULL
     WHERE consumers.status <> 'approved'
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [id, input.name, input.useCase.category, input.useCase.description],
  );
  const row = rows[0];
  if (!row) throw new AtollError('CONFLICT', 'your organisation is already approved; ask an operator to change its use case');
  return { application: toApplication(row), created: row.created };
}
