-- Control plane of the walking skeleton: organisations, schemas, datasets, uploads, cleanrooms, subscriptions,
-- and the Iceberg catalog pointers (compare-and-swap target of every commit).

CREATE TABLE providers (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  client_id text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE consumers (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  use_case_category text NOT NULL,
  use_case_description text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  client_id text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  approved_at timestamptz
);

CREATE TABLE table_schemas (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  table_name text NOT NULL,
  dataset text NOT NULL,
  columns jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz
);
-- One live (pending or approved) schema per provider table; a rejected one can be resubmitted.
CREATE UNIQUE INDEX table_schemas_live ON table_schemas (provider_id, table_name) WHERE status <> 'rejected';

CREATE TABLE datasets (
  name text PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  schema_id uuid NOT NULL REFERENCES table_schemas (id),
  price_amount numeric(18, 6),
  price_currency text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE uploads (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  table_name text NOT NULL,
  source text NOT NULL CHECK (source IN ('api', 'bulk')),
  staging_key text NOT NULL,
  records integer,
  bytes bigint NOT NULL,
  idempotency_key text,
  status text NOT NULL CHECK (status IN ('pending', 'loaded', 'rejected')),
  reason text,
  snapshot_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE UNIQUE INDEX uploads_idempotency ON uploads (provider_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX uploads_recent ON uploads (provider_id, table_name, created_at DESC);

CREATE TABLE iceberg_tables (
  namespace text NOT NULL,
  name text NOT NULL,
  metadata_location text NOT NULL,
  previous_metadata_location text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, name)
);

CREATE TABLE cleanrooms (
  id uuid PRIMARY KEY,
  consumer_id uuid NOT NULL REFERENCES consumers (id),
  name text NOT NULL,
  bucket text NOT NULL UNIQUE,
  access_key text NOT NULL,
  policy_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE estimates (
  id uuid PRIMARY KEY,
  consumer_id uuid NOT NULL REFERENCES consumers (id),
  cleanroom_id uuid NOT NULL REFERENCES cleanrooms (id),
  table_name text NOT NULL,
  sql text NOT NULL,
  datasets text[] NOT NULL,
  records bigint NOT NULL,
  distinct_subjects bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
  id uuid PRIMARY KEY,
  consumer_id uuid NOT NULL REFERENCES consumers (id),
  cleanroom_id uuid NOT NULL REFERENCES cleanrooms (id),
  estimate_id uuid NOT NULL UNIQUE REFERENCES estimates (id),
  table_name text NOT NULL,
  sql text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'active', 'paused', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (cleanroom_id, table_name)
);

CREATE TABLE subscription_runs (
  id uuid PRIMARY KEY,
  subscription_id uuid NOT NULL REFERENCES subscriptions (id),
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  records_added bigint,
  records_removed bigint,
  snapshot_id text,
  error text
);
CREATE INDEX subscription_runs_by_sub ON subscription_runs (subscription_id, started_at DESC);
