// The maintenance steps as @atoll/lake and @atoll/iceberg implement them, adapted to the scheduler's shape.
import { expireSnapshots, removeOrphanFiles, rewriteManifests } from '@atoll/iceberg';
import { compactTable } from '@atoll/lake';
import type { MaintenanceTasks } from './maintenance.js';

export const lakeMaintenanceTasks: MaintenanceTasks = {
  compact: (a) => compactTable({ lake: a.lake, id: a.id, targetFileSizeBytes: a.targetFileSizeBytes, minInputFiles: a.minInputFiles, workDir: a.workDir, memoryLimit: a.memoryLimit }),
  rewriteManifests: (a) => rewriteManifests({ io: a.lake.io, catalog: a.lake.catalog, id: a.id, targetManifestEntries: a.targetManifestEntries }),
  expireSnapshots: (a) => expireSnapshots({ io: a.lake.io, catalog: a.lake.catalog, id: a.id, retainLast: a.retainLast, olderThanMs: a.olderThanMs, deleteFiles: true }),
  // Listing only: the scheduler deletes, after sparing files still waiting in pending_data_files.
  findOrphanFiles: async (a) => ({ orphans: (await removeOrphanFiles({ io: a.lake.io, catalog: a.lake.catalog, id: a.id, olderThanMs: a.olderThanMs, dryRun: true })).orphans }),
};
