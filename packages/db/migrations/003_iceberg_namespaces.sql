-- Namespaces of the Iceberg REST catalog (/iceberg) and their properties. Tables stay in iceberg_tables, keyed by the
-- same dotted namespace; the built-in lake namespaces raw and published and the per-cleanroom namespaces need no row.
CREATE TABLE iceberg_namespaces (
  namespace text PRIMARY KEY,
  properties jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
