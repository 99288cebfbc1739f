-- Iceberg views in the REST catalog. Tables and views share one identifier space (the spec: a view cannot take a
-- table's name, nor a table a view's), so a view is a row of iceberg_tables with kind = 'view': the primary key
-- (namespace, name) then refuses a collision of either kind atomically, and a rename onto either kind conflicts the
-- same way. A view's metadata_location is its current view metadata file, swapped with compare-and-swap as tables are.
ALTER TABLE iceberg_tables ADD COLUMN kind text NOT NULL DEFAULT 'table' CHECK (kind IN ('table', 'view'));
