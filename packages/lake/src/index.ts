export { Lake } from './lake.js';
export { rawTableId, publishedTableId, cleanroomTableId, tableLocation } from './tables.js';
export { withSandboxedSelect, loadPublished, type DatasetInput, type SandboxLimits, type SelectResult } from './sandbox.js';
