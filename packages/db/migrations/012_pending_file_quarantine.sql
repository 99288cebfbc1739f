-- A staged data file that cannot be committed (its object gone from the lake or changed, its record unreadable) is set
-- aside with its reason instead of holding up every later commit of its table; its upload is rejected with the reason.
ALTER TABLE pending_data_files DROP CONSTRAINT pending_data_files_status_check;
ALTER TABLE pending_data_files ADD CONSTRAINT pending_data_files_status_check CHECK (status IN ('pending', 'committed', 'quarantined'));
ALTER TABLE pending_data_files ADD COLUMN reason text;
