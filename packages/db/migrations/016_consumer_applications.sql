-- Self-service buyer applications (issue 14): a consumer person applies for its organisation with a use case and
-- reads the operator's decision. The decision's time and, for a rejection or a withdrawal, its reason are kept so the
-- applicant sees why; an approval clears an earlier reason.
ALTER TABLE consumers
  ADD COLUMN decision_reason text CHECK (decision_reason IS NULL OR length(decision_reason) BETWEEN 1 AND 2000),
  ADD COLUMN decided_at timestamptz;
