-- A consumer whose approval is withdrawn loses its cleanroom keys (the MinIO users are deleted by the cleanroom
-- worker); this records when, so a rejection retried after a failed revocation finishes it.
ALTER TABLE cleanrooms ADD COLUMN key_revoked_at timestamptz;
