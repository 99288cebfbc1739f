-- Metadata writers (commit batching) and table maintenance: data files written by the batch writers wait here until
-- one commit per table appends all of them in a single snapshot; per-table maintenance settings for the schedulers.

-- A Parquet file already in the lake, not yet (or already) part of a snapshot. `status` flips to 'committed' in the
-- same transaction as the catalog pointer swap that made it live, so a file is never committed twice or lost.
CREATE TABLE pending_data_files (
  id bigserial PRIMARY KEY,
  namespace text NOT NULL,
  name text NOT NULL,
  file_path text NOT NULL UNIQUE,
  -- The Iceberg DataFile (sizes, counts, bounds) as JSON; bigint values are strings.
  data_file jsonb NOT NULL,
  record_count bigint NOT NULL,
  -- The upload this file came from (one file per upload); NULL for files written by other writers.
  upload_id uuid UNIQUE REFERENCES uploads (id),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'committed')),
  batch_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  committed_at timestamptz
);
CREATE INDEX pending_data_files_waiting ON pending_data_files (namespace, name, id) WHERE status = 'pending';
CREATE INDEX pending_data_files_batch ON pending_data_files (batch_id) WHERE batch_id IS NOT NULL;

-- One row per snapshot a metadata writer committed. Inserted inside the swap transaction; `finished_at` is set once
-- the follow-up work (uploads marked loaded, prepare queued) is done, so a crash in between is finished on retry.
CREATE TABLE commit_batches (
  id uuid PRIMARY KEY,
  namespace text NOT NULL,
  name text NOT NULL,
  metadata_location text NOT NULL,
  snapshot_id text,
  files integer NOT NULL,
  records bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX commit_batches_unfinished ON commit_batches (namespace, name) WHERE finished_at IS NULL;

-- The commit job of a table is keyed by (table, generation): uploads arriving before a commit job starts share its
-- job id (BullMQ dedupes them); the job bumps the generation before reading the pending files, so a file recorded
-- after that read always gets a new job.
CREATE TABLE table_commit_state (
  namespace text NOT NULL,
  name text NOT NULL,
  generation bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, name)
);

-- Per-table maintenance; defaults apply to every table the writer knows of until a row says otherwise.
CREATE TABLE table_maintenance (
  namespace text NOT NULL,
  name text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  every_ms bigint NOT NULL DEFAULT 3600000 CHECK (every_ms >= 1000),
  compact_min_files integer NOT NULL DEFAULT 16 CHECK (compact_min_files >= 2),
  compact_target_file_bytes bigint NOT NULL DEFAULT 134217728 CHECK (compact_target_file_bytes > 0),
  expire_keep_last integer NOT NULL DEFAULT 20 CHECK (expire_keep_last >= 1),
  expire_older_than_ms bigint NOT NULL DEFAULT 604800000 CHECK (expire_older_than_ms >= 0),
  -- Files younger than this are never orphans: they may belong to a write in flight (3 days by default).
  orphan_older_than_ms bigint NOT NULL DEFAULT 259200000 CHECK (orphan_older_than_ms >= 0),
  manifest_target_entries integer NOT NULL DEFAULT 10000 CHECK (manifest_target_entries >= 1),
  last_run_at timestamptz,
  last_result jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, name)
);
