export { Lake } from './lake.js';
export { rawTableId, publishedTableId, cleanroomTableId, tableLocation } from './tables.js';
export { withSandboxedSelect, loadPublished, type DatasetInput, type SandboxLimits, type SelectResult } from './sandbox.js';
export { FileDoesNotMatchSchemaError, loadFileIntoTable } from './load.js';
export { csvSelect, ndjsonSelect, publishedColumns, publishedSchema, rawSchema, type SchemaColumn } from './columns.js';
