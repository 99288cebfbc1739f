-- The device upload and token fast path (issue 12): change notifications for the api's in-memory caches, and grouped
-- staging objects for small uploads.

-- Every change that can take away a right a cached lookup granted is announced on the `atoll_changes` channel, from
-- the database itself, so no code path (a route, the writer, an operator's SQL) can forget to. NOTIFY is transactional:
-- listeners hear of a change when it commits. Payloads are `<kind>:<key>`; identical payloads in one transaction are
-- folded by Postgres. Caches hold only positive answers (a live license, an approved schema, a device not revoked),
-- so inserts need no notice: a new right is read from the table on first use.
CREATE FUNCTION atoll_notify_license_grant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('atoll_changes', 'license:' || OLD.provider_id || ':' || OLD.tid);
  RETURN NULL;
END $$;
CREATE TRIGGER license_grants_changed AFTER UPDATE OR DELETE ON license_grants
  FOR EACH ROW EXECUTE FUNCTION atoll_notify_license_grant();

-- An agreement losing its approval ends every delegated grant under it: all of the provider's cached licenses go.
CREATE FUNCTION atoll_notify_agreement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('atoll_changes', 'license-provider:' || OLD.provider_id);
  RETURN NULL;
END $$;
CREATE TRIGGER agreements_changed AFTER UPDATE OR DELETE ON agreements
  FOR EACH ROW EXECUTE FUNCTION atoll_notify_agreement();

CREATE FUNCTION atoll_notify_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('atoll_changes', 'device:' || OLD.id);
  RETURN NULL;
END $$;
CREATE TRIGGER devices_changed AFTER UPDATE OR DELETE ON devices
  FOR EACH ROW EXECUTE FUNCTION atoll_notify_device();

CREATE FUNCTION atoll_notify_table_schema() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('atoll_changes', 'schema:' || OLD.provider_id || ':' || OLD.table_name);
  RETURN NULL;
END $$;
CREATE TRIGGER table_schemas_changed AFTER UPDATE OR DELETE ON table_schemas
  FOR EACH ROW EXECUTE FUNCTION atoll_notify_table_schema();

-- Group commit of small api uploads: many uploads of one table share one staging object and one ingest job. Each
-- upload keeps its own row (its id is what the caller got back, and what GET /v1/ingests shows); `batch_id` names the
-- batch's lead upload, whose row the writer's ingest job and commit update. The trigger hands the lead's outcome to
-- the other uploads of its batch, so the writer needs to know nothing of batches.
ALTER TABLE uploads ADD COLUMN batch_id uuid;
CREATE INDEX uploads_batch ON uploads (batch_id) WHERE batch_id IS NOT NULL;

CREATE FUNCTION atoll_upload_batch_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE uploads SET status = NEW.status, reason = NEW.reason, snapshot_id = NEW.snapshot_id, finished_at = NEW.finished_at
   WHERE batch_id = NEW.id AND id <> NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER uploads_batch_outcome AFTER UPDATE OF status, reason, snapshot_id, finished_at ON uploads
  FOR EACH ROW WHEN (NEW.batch_id = NEW.id AND (OLD.status, OLD.reason, OLD.snapshot_id, OLD.finished_at) IS DISTINCT FROM (NEW.status, NEW.reason, NEW.snapshot_id, NEW.finished_at))
  EXECUTE FUNCTION atoll_upload_batch_outcome();
