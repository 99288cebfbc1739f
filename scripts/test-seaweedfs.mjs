// `npm run test:seaweedfs`: the second integration pass, on a local stack whose S3 server is SeaweedFS (issue 15).
// It runs the storage conformance suites, the isolation tests, the engines and the rest of the suite — the files
// listed below, which pass on SeaweedFS — against a stack of its own (state in .atoll/seaweedfs, so the MinIO stack's
// data is never mixed in), started by the integration global setup and stopped again afterwards. What is left out,
// and why, is in docs/storage.md ("Integration suite on SeaweedFS").
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
  'test/init-storage.test.ts',
  'test/storage-restart.test.ts',
  // Engines against the REST catalog with vended credentials (role sessions on SeaweedFS).
  'test/engines-spark.test.ts',
  'test/duckdb-operator.test.ts',
  'test/iceberg-rck.test.ts',
  'test/iceberg-rest-completeness.test.ts',
  'test/iceberg-rest-contention.test.ts',
  'test/iceberg-pg-catalog.test.ts',
  'test/iceberg-maintenance.test.ts',
  'test/iceberg-merge-stress.test.ts',
  'test/lake-maintenance.test.ts',
  'test/delivery-watermarks.test.ts',
  'test/delivery-crash.test.ts',
  'test/devices-upload.test.ts',
  'test/devices-fastpath.test.ts',
  'test/devices-load.test.ts',
  'test/load-mixed.test.ts',
  'test/api-hardening.test.ts',
  'test/kek-rotation.test.ts',
  'test/step-up.test.ts',
  'test/init-keycloak.test.ts',
  'test/inprocess-api.test.ts',
  'test/stack-up.test.ts',
  'test/portal.test.ts',
  'test/uploads-stranded.test.ts',
  'test/stack-postgres.test.ts',
  'test/version-hint.test.ts',
  // The two slowest after chaos (~3.5 min each): the billing ledger under SIGKILL (its runs write cleanrooms) and
  // the API contract fuzzing. Neither is about the S3 server, but the proof is the whole suite on both.
  'test/billing.test.ts',
  'test/api-contract.test.ts',
  // Last: one fault of each kind, SeaweedFS restarted among them (~4 min; it found the role store lost on restart).
  'test/chaos.test.ts',
  // Never here: storage-admin.test.ts (MinioAdmin's wire format; the conformance suites cover SeaweedAdmin) and
  // test/deploy/* (they render files and call no server).
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
