-- The writer's reconciler looks for api uploads still pending long after they were recorded (their ingest job went
-- missing: the api stopped before queueing it, or Redis lost it). Pending uploads are few at any time; this keeps
-- that look from scanning every upload ever made.
CREATE INDEX uploads_pending_api ON uploads (created_at) WHERE status = 'pending' AND source = 'api';
