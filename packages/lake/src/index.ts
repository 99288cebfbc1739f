export { Lake } from './lake.js';
export { rawTableId, publishedTableId, cleanroomTableId, tableLocation } from './tables.js';
export { withSandboxedSelect, loadPublished, type DatasetInput, type DatasetPart, type PublishedDataset, type SandboxLimits, type SelectResult } from './sandbox.js';
export { FileDoesNotMatchSchemaError, loadFileIntoTable, writeDataFileForTable, type QuarantinedRow } from './load.js';
export { publishedColumns, publishedRecordKey, publishedSchema, rawSchema, recordKeyProblem, type SchemaColumn } from './columns.js';
export { compactTable, type CompactTableOptions, type CompactTableResult } from './compaction.js';
export { describeReadError, headerProblem, parseCsvHeader, readRelation, strictSelect, textSources, type InputFormat } from './strict-read.js';
export { EPOCH_FORMATS, formatProblem, sanitizeColumn, sqlType, strictValue } from './sanitize.js';
export { freeTextColumns, maskedCountSql, maskPiiSql, PII_PATTERNS } from './pii.js';
