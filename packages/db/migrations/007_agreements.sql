-- Provider agreements (seed 001: legal approval before deployment). A delegated license stands for the provider's own
-- agreement, named by the SHA-256 of its terms; it is logged at once but counts for uploads and deliveries only while
-- an operator-approved agreement of that provider has that hash.

CREATE TABLE agreements (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  terms_sha256 text NOT NULL CHECK (terms_sha256 ~ '^[0-9a-f]{64}$'),
  terms_uri text CHECK (length(terms_uri) <= 2000),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description text NOT NULL CHECK (length(description) <= 4000),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
  reason text CHECK (length(reason) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- One open (pending or approved) agreement per provider and terms: a resubmission is a conflict, not a second row;
-- after a rejection or revocation the provider may submit the same terms again.
CREATE UNIQUE INDEX agreements_open ON agreements (provider_id, terms_sha256) WHERE status IN ('pending', 'approved');
CREATE INDEX agreements_by_status ON agreements (status, created_at DESC);
CREATE INDEX agreements_by_provider ON agreements (provider_id, created_at DESC);

-- The agreement a grant depends on: NULL for device-signed licenses (the user's own signature is the approval).
ALTER TABLE license_grants ADD COLUMN agreement_sha256 text;
UPDATE license_grants g
   SET agreement_sha256 = convert_from(l.entry, 'UTF8')::jsonb #>> '{delegated,terms,sha256}'
  FROM licenses l
 WHERE l.id = g.license_id AND l.delegated;

-- The covering indexes carry the column too, so the upload probe and the consumer filter stay index-only.
DROP INDEX license_grants_by_tid;
CREATE INDEX license_grants_by_tid ON license_grants (provider_id, tid, table_name, expires_at) INCLUDE (agreement_sha256);
DROP INDEX license_grants_by_use;
CREATE INDEX license_grants_by_use ON license_grants (provider_id, table_name, usecase, destination, tid) INCLUDE (expires_at, agreement_sha256);
