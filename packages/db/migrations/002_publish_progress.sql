-- How far the prepare stage has published each raw table: the last raw snapshot whose rows reached the dataset.
CREATE TABLE publish_progress (
  provider_id uuid NOT NULL REFERENCES providers (id),
  table_name text NOT NULL,
  raw_snapshot_id text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider_id, table_name)
);

-- How far each subscription has delivered: per dataset, the published snapshot its last successful run read.
ALTER TABLE subscription_runs ADD COLUMN source_snapshots jsonb;

-- A BullMQ job may be retried; its run row is found again by the job id instead of being duplicated.
ALTER TABLE subscription_runs ADD COLUMN job_id text UNIQUE;
