-- Licensed delivery (SPEC §5–§6): per-dataset cohort minimums, what an estimate actually read and priced, the
-- subjects each subscription holds, withheld runs, and erasure records for revocations.

-- The minimum number of distinct subjects a delivery of this dataset needs; an operator may raise it (never below 25).
ALTER TABLE datasets ADD COLUMN min_cohort integer NOT NULL DEFAULT 25 CHECK (min_cohort >= 25);

-- An estimate stores the datasets the query reads (not every approved one) and the price it quoted.
ALTER TABLE estimates ADD COLUMN monthly_update_rate double precision NOT NULL DEFAULT 0;
ALTER TABLE estimates ADD COLUMN price_per_record jsonb;
ALTER TABLE estimates ADD COLUMN currency text;

-- A run under the cohort minimum delivers nothing and says why ('withheld'); erasures still happen.
ALTER TABLE subscription_runs DROP CONSTRAINT subscription_runs_status_check;
ALTER TABLE subscription_runs ADD CONSTRAINT subscription_runs_status_check CHECK (status IN ('running', 'succeeded', 'withheld', 'failed'));
ALTER TABLE subscription_runs ADD COLUMN reason text;

-- A subscription's bookkeeping, one generation per run: the subjects its cleanroom table holds rows of (and how many),
-- and the subjects that were licensed to it per dataset (a subject licensed later gets its earlier rows delivered by
-- the next run: licenses decide at read time, decision 7). A run stages its generation before its Iceberg commit and
-- `subscriptions.state_run_id` moves to it when the run is recorded, so a crash between the two is recovered from
-- the run's plan and never leaves the bookkeeping and the table disagreeing.
CREATE TABLE subscription_subjects (
  subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  run_id uuid NOT NULL,
  tid text NOT NULL,
  records bigint NOT NULL CHECK (records > 0),
  PRIMARY KEY (subscription_id, run_id, tid)
);

CREATE TABLE subscription_licensed (
  subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  run_id uuid NOT NULL,
  dataset text NOT NULL,
  tid text NOT NULL,
  PRIMARY KEY (subscription_id, run_id, dataset, tid)
);

ALTER TABLE subscriptions ADD COLUMN state_run_id uuid;
-- What a run decided before committing (counts, watermarks, erasures), so a retry after a crash finishes it as planned.
ALTER TABLE subscription_runs ADD COLUMN plan jsonb;

-- One row per (subscription, subject) whose delivered rows a run erased: which recipient held them, how many, when
-- the rows left the table and its files (GDPR Art. 19: informing the recipients).
CREATE TABLE erasures (
  id uuid PRIMARY KEY,
  subscription_id uuid NOT NULL REFERENCES subscriptions (id),
  consumer_id uuid NOT NULL REFERENCES consumers (id),
  provider_id uuid NOT NULL REFERENCES providers (id),
  tid text NOT NULL,
  run_id uuid NOT NULL REFERENCES subscription_runs (id),
  records bigint NOT NULL,
  removed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, tid, provider_id)
);
CREATE INDEX erasures_by_subject ON erasures (provider_id, tid, removed_at);

-- The datasets a subscription reads (for maintenance watermarks and the provider's view).
ALTER TABLE subscriptions ADD COLUMN datasets text[] NOT NULL DEFAULT '{}';
