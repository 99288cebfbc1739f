-- Preparation options a provider's schema may choose (issue 9): the columns that identify a record for deduplication
-- across batches, and what a bad row does to its file (reject the whole file, or quarantine the row).

-- NULL: the whole published row identifies a record. Otherwise column names of the schema (the user_id column stands
-- for the subject's TID; identity columns are not allowed, so no identifier is ever hashed).
ALTER TABLE table_schemas ADD COLUMN record_key text[];
ALTER TABLE table_schemas ADD COLUMN bad_rows text NOT NULL DEFAULT 'reject' CHECK (bad_rows IN ('reject', 'quarantine'));

-- The records a dataset has published, by a hash (md5 of the key's canonical JSON, over published values only): a row
-- re-exported in a later batch is found here and not published twice. Written in the prepare stage's transaction,
-- with its progress row, so a crashed prepare leaves no key behind for rows it never published.
CREATE TABLE published_record_keys (
  dataset text NOT NULL,
  key_hash bytea NOT NULL,
  PRIMARY KEY (dataset, key_hash)
);

-- Rows kept aside from uploads whose schema quarantines bad rows: the row as read (text), its line or row, and why.
CREATE TABLE quarantined_rows (
  upload_id uuid NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
  position text NOT NULL,
  reason text NOT NULL,
  row_data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (upload_id, position)
);
ALTER TABLE uploads ADD COLUMN rows_quarantined bigint;
