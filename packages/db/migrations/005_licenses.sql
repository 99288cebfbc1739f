-- Licenses (SPEC §5.4) and the transparency log (SPEC §7): signing keys, the append-only Merkle log with its stored
-- subtree hashes and signed checkpoints, and the license index that answers "is this TID licensed" per request.

-- Ed25519 keys of the log and of each provider. Private keys are encrypted at rest (AES-256-GCM with a key from
-- config, named by enc_key_id); rotation retires a key (retired_at) but keeps it so old signatures still verify.
CREATE TABLE signing_keys (
  id text PRIMARY KEY,
  owner_kind text NOT NULL CHECK (owner_kind IN ('log', 'provider')),
  owner_id uuid,
  name text NOT NULL,
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  private_key_enc bytea NOT NULL,
  enc_key_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  CHECK ((owner_kind = 'log') = (owner_id IS NULL))
);
-- At most one active key per owner.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (owner_kind, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'::uuid)) WHERE retired_at IS NULL;

-- Leaves of the log. Appends are serialised by an advisory lock; rows are never updated or deleted.
CREATE TABLE log_leaves (
  idx bigint PRIMARY KEY CHECK (idx >= 0),
  leaf bytea NOT NULL,
  leaf_hash bytea NOT NULL,
  kind text NOT NULL CHECK (kind IN ('license', 'revocation')),
  entry_id uuid NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Hashes of every complete, aligned subtree: (level, i) covers leaves [i·2^level, (i+1)·2^level). Any RFC 9162
-- subtree hash is then O(log n) lookups, so proofs and roots never rescan the leaves.
CREATE TABLE log_nodes (
  level smallint NOT NULL CHECK (level >= 0),
  idx bigint NOT NULL CHECK (idx >= 0),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- One signed checkpoint per tree size, so any later consistency proof can start from any size a client saw.
CREATE TABLE log_checkpoints (
  size bigint PRIMARY KEY CHECK (size > 0),
  root bytea NOT NULL CHECK (length(root) = 32),
  note text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The license index: a projection of the log (the log is the record; these rows can be rebuilt from it).
CREATE TABLE licenses (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  tid text NOT NULL,
  device_id text,
  delegated boolean NOT NULL DEFAULT false,
  tables text[] NOT NULL,
  uses jsonb NOT NULL,
  tags text[] NOT NULL,
  expires_at timestamptz NOT NULL,
  issued_at timestamptz NOT NULL,
  log_index bigint NOT NULL REFERENCES log_leaves (idx),
  entry bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  ended_by uuid,
  end_reason text CHECK (end_reason IN ('revoked', 'superseded'))
);
CREATE INDEX licenses_by_subject ON licenses (provider_id, tid, created_at DESC);

-- One row per live (license, table, use case, destination). Rows leave when the license is revoked or superseded
-- (expiry is checked at query time). Two covering indexes: per-TID checks (upload) and per-consumer filters.
CREATE TABLE license_grants (
  license_id uuid NOT NULL REFERENCES licenses (id),
  provider_id uuid NOT NULL,
  tid text NOT NULL,
  table_name text NOT NULL,
  usecase text NOT NULL,
  destination text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (license_id, table_name, usecase, destination)
);
CREATE INDEX license_grants_by_tid ON license_grants (provider_id, tid, table_name, expires_at);
CREATE INDEX license_grants_by_use ON license_grants (provider_id, table_name, usecase, destination, tid) INCLUDE (expires_at);
