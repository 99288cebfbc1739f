// `npm run test:seaweedfs`: the second integration pass, on a local stack whose S3 server is SeaweedFS (issue 15).
// It runs the storage conformance suites and the isolation tests — the files listed below, which pass on SeaweedFS —
// against a stack of its own (state in .atoll/seaweedfs, so the MinIO stack's data is never mixed in), started by the
// integration global setup and stopped again afterwards. What does not pass on SeaweedFS yet is listed in
// docs/storage.md ("Integration suite on SeaweedFS").
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEAWEEDFS_FILES = [
  'test/storage-admin-conformance.test.ts',
  'test/object-store-conformance.test.ts',
  'test/delivery.test.ts',
  'test/bulk-ingest.test.ts',
  'test/licenses.test.ts',
  'test/writer-policy.test.ts',
  'test/api-bad-input.test.ts',
  'test/skeleton.test.ts',
  'test/iceberg-rest.test.ts',
  'test/iceberg-interop.test.ts',
  'test/duckdb-catalog.test.ts',
  'test/devices.test.ts',
  'test/lake-concurrency.test.ts',
  'test/lake-crash.test.ts',
  'test/licenses-agreements.test.ts',
  'test/client.test.ts',
  'test/api-listings.test.ts',
  // billing.test.ts passes on SeaweedFS too, but its SIGKILL loop (~3.5 min) would take the pass past ~12 minutes;
  // it tests the ledger, not the S3 server (docs/storage.md).
];

const env = { ...process.env, ATOLL_STORAGE: 'seaweedfs', ATOLL_STATE_DIR: join(root, '.atoll', 'seaweedfs') };
// Beside a MinIO stack on ATOLL_PORT_BASE (default 17000), not on top of it: a developer's running stack stays up.
env.ATOLL_PORT_BASE = process.env.ATOLL_SEAWEEDFS_PORT_BASE ?? String(Number(process.env.ATOLL_PORT_BASE ?? 17000) + 500);

const r = spawnSync(join(root, 'node_modules', '.bin', 'vitest'), ['run', '--project', 'integration', ...SEAWEEDFS_FILES, ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
