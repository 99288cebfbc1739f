-- Bulk ingest over S3 (SPEC §4): provider bulk keys, and the ingest rows of staged objects, each ingested once.

-- One row per bulk key handed out. The secret is never stored: MinIO holds it (a service account that expires by
-- itself); this row lets a provider list and revoke only its own keys.
CREATE TABLE bulk_keys (
  access_key text PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX bulk_keys_by_provider ON bulk_keys (provider_id, created_at DESC);

-- A staged object (key + ETag) becomes one upload row however often a notification or the reconciler announces it.
ALTER TABLE uploads ADD COLUMN etag text;
ALTER TABLE uploads ADD COLUMN rows_read bigint;
CREATE UNIQUE INDEX uploads_bulk_object ON uploads (staging_key, etag) WHERE source = 'bulk';
-- Identifiers (emails, IPs, phone numbers) the prepare stage masked in the upload's free-text columns.
ALTER TABLE uploads ADD COLUMN masked_values bigint;
