// The writer's job processors as a library (tests, benchmarks, other entry points); main.ts is the process.
export { BATCH_COMMIT_PREFIX, commitPendingFiles, decodeDataFile, encodeDataFile, enqueueCommit, processCommit, recordPendingFile, type CommittedBatch, type MetadataWriterContext } from './batch.js';
export { processIngest, type WriterContext } from './ingest.js';
export { processPrepare, type PrepareContext } from './prepare.js';
export {
  DEFAULT_MAINTENANCE,
  maintenanceSettings,
  processMaintenance,
  runMaintenance,
  scheduleAllMaintenance,
  scheduleTableMaintenance,
  type MaintenanceContext,
  type MaintenanceReport,
  type MaintenanceSettings,
  type MaintenanceTasks,
} from './maintenance.js';
export { lakeMaintenanceTasks } from './maintenance-tasks.js';
export { requeueStrandedCommits, requeueStrandedUploads, type StrandedCommits, type StrandedPass } from './stranded.js';
