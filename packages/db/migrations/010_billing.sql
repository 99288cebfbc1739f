-- Billing (issue 10): the usage ledger (the truth of what a consumer owes), its delivery to Stripe as meter events,
-- the payout ledger (what each provider and each subject within it earns), revenue shares, monthly invoices, and the
-- Stripe objects Atoll made. Money is numeric, never floating point.

-- One entry per (subscription run, dataset) of a succeeded run that added records; written in the transaction that
-- records the run, so a retried or replayed run adds nothing (the unique key) and no run is recorded without it.
CREATE TABLE usage_ledger (
  id uuid PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES subscription_runs (id),
  subscription_id uuid NOT NULL REFERENCES subscriptions (id),
  consumer_id uuid NOT NULL REFERENCES consumers (id),
  provider_id uuid NOT NULL REFERENCES providers (id),
  dataset text NOT NULL,
  records bigint NOT NULL CHECK (records > 0),
  unit_price numeric(18, 6) NOT NULL CHECK (unit_price >= 0),
  amount numeric(30, 6) NOT NULL CHECK (amount >= 0),
  currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  -- The calendar month (UTC) the records were delivered in, as YYYY-MM.
  month text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Set when Stripe acknowledged the meter event whose identifier is this entry's id; NULL = the reconciler resends.
  metered_at timestamptz,
  meter_attempts integer NOT NULL DEFAULT 0,
  meter_error text,
  UNIQUE (run_id, dataset)
);
CREATE INDEX usage_ledger_unmetered ON usage_ledger (created_at) WHERE metered_at IS NULL;
CREATE INDEX usage_ledger_by_consumer ON usage_ledger (consumer_id, month);
CREATE INDEX usage_ledger_by_provider ON usage_ledger (provider_id, month);

-- The provider's share of each charged record, per subject (TID) whose record it was. Written with the ledger entry.
CREATE TABLE payout_ledger (
  entry_id uuid NOT NULL REFERENCES usage_ledger (id),
  provider_id uuid NOT NULL REFERENCES providers (id),
  tid text NOT NULL,
  records bigint NOT NULL CHECK (records > 0),
  share numeric(5, 4) NOT NULL CHECK (share >= 0 AND share <= 1),
  amount numeric(36, 10) NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  month text NOT NULL,
  PRIMARY KEY (entry_id, tid)
);
CREATE INDEX payout_ledger_by_provider ON payout_ledger (provider_id, month);

-- The share of revenue an operator grants a provider (0..1); providers without a row get the default in @atoll/billing.
CREATE TABLE revenue_shares (
  provider_id uuid PRIMARY KEY REFERENCES providers (id),
  share numeric(5, 4) NOT NULL CHECK (share >= 0 AND share <= 1),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Stripe objects Atoll created: a customer per consumer, a meter and a metered price per currency, a Stripe
-- subscription per (consumer, currency). Keys are deterministic so a second creator reuses the first one's object.
CREATE TABLE stripe_objects (
  kind text NOT NULL CHECK (kind IN ('customer', 'meter', 'price', 'subscription')),
  key text NOT NULL,
  stripe_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, key)
);

-- A month closed per consumer and currency: the ledger total and the Stripe invoice that bills it.
CREATE TABLE billing_invoices (
  consumer_id uuid NOT NULL REFERENCES consumers (id),
  currency text NOT NULL,
  month text NOT NULL,
  amount numeric(30, 6) NOT NULL,
  stripe_invoice_id text NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_id, currency, month)
);

-- Stripe webhook events already processed: a replayed event id is refused.
CREATE TABLE stripe_webhook_events (
  id text PRIMARY KEY,
  type text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
