// One-shot initialisation (the stack's and the deployments' "init" job): database migrations, buckets with default
// encryption, and the least-privilege MinIO users of the api, writer and cleanroom services. Uses the root S3
// credentials, which no long-running Atoll process holds. Deployments (compose, Helm) also turn on the license
// Object-Lock bucket, and a production init refuses to run while any variable still holds an example placeholder.
import { Type } from '@sinclair/typebox';
import { BaseConfigSchema, loadConfig } from '@atoll/config';
import { createPool, migrate } from '@atoll/db';
import { createLogger } from '@atoll/log';
import {
  MinioAdmin,
  ObjectStore,
  apiServicePolicy,
  cleanroomServicePolicy,
  writerServicePolicy,
  type BucketNames,
  type PolicyDocument,
} from '@atoll/storage';

const InitConfigSchema = Type.Composite([
  BaseConfigSchema,
  Type.Object({
    ATOLL_S3_ROOT_USER: Type.String({ minLength: 3 }),
    ATOLL_S3_ROOT_PASSWORD: Type.String({ minLength: 8 }),
    ATOLL_INIT_S3_API_SECRET: Type.String({ minLength: 16 }),
    ATOLL_INIT_S3_WRITER_SECRET: Type.String({ minLength: 16 }),
    ATOLL_INIT_S3_CLEANROOM_SECRET: Type.String({ minLength: 16 }),
    /** Off by default: an Object-Lock bucket cannot be turned back into a normal one, so creating it is opt-in. */
    ATOLL_INIT_LICENSE_BUCKET: Type.Boolean({ default: false }),
    ATOLL_BUCKET_LICENSES: Type.String({ default: 'atoll-licenses', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
    /** ARN of MinIO's notification target for bulk ingest (e.g. arn:minio:sqs:us-east-1:ATOLL:redis); empty: none. */
    ATOLL_INIT_STAGING_NOTIFY_ARN: Type.String({ pattern: '^(arn:minio:sqs:.+)?$', default: '' }),
  }),
]);

/** The marker every value in .env.example carries; see docs/deploy.md. */
const PLACEHOLDER_MARKER = 'change-me';

/** Names (never values) of the variables that still hold an example placeholder. */
function placeholderVariables(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([, v]) => v?.toLowerCase().includes(PLACEHOLDER_MARKER))
    .map(([k]) => k)
    .sort();
}

async function main(): Promise<void> {
  const config = loadConfig(InitConfigSchema);
  const log = createLogger({ name: 'init', level: config.ATOLL_LOG_LEVEL });
  if (config.ATOLL_ENV === 'production') {
    const left = placeholderVariables(process.env);
    if (left.length > 0) throw new Error(`refusing to initialise production: ${left.join(', ')} still hold the example placeholder "${PLACEHOLDER_MARKER}"; set real secrets`);
  }

  const pool = createPool(config.ATOLL_DATABASE_URL, { max: 1, applicationName: 'atoll-init' });
  try {
    const applied = await migrate(pool);
    log.info({ op: 'init.migrations.applied', applied }, `${applied.length} migration(s) applied`);
  } finally {
    await pool.end();
  }

  const root = { endpoint: config.ATOLL_S3_ENDPOINT, region: config.ATOLL_S3_REGION, accessKey: config.ATOLL_S3_ROOT_USER, secretKey: config.ATOLL_S3_ROOT_PASSWORD };
  const store = new ObjectStore(root);
  for (const bucket of [config.ATOLL_BUCKET_STAGING, config.ATOLL_BUCKET_LAKE]) {
    await store.ensureBucket(bucket);
    log.info({ op: 'init.bucket.ready', bucket }, 'bucket ready (SSE-S3 by default)');
  }
  if (config.ATOLL_INIT_LICENSE_BUCKET) {
    // WORM storage for signed license documents (ARCHITECTURE decision 7); Object Lock must be set at creation.
    await store.ensureBucket(config.ATOLL_BUCKET_LICENSES, { objectLock: true });
    log.info({ op: 'init.bucket.ready', bucket: config.ATOLL_BUCKET_LICENSES, objectLock: true }, 'license bucket ready (Object Lock, SSE-S3)');
  }

  if (config.ATOLL_INIT_STAGING_NOTIFY_ARN) {
    // Bulk ingest: every object created in staging is announced to the writer (the reconciler catches the rest).
    await store.notifyObjectCreated(config.ATOLL_BUCKET_STAGING, config.ATOLL_INIT_STAGING_NOTIFY_ARN);
    log.info({ op: 'init.bucket.notify', bucket: config.ATOLL_BUCKET_STAGING, arn: config.ATOLL_INIT_STAGING_NOTIFY_ARN }, 'staging bucket notifications on');
  }

  const admin = new MinioAdmin(root);
  const buckets: BucketNames = { staging: config.ATOLL_BUCKET_STAGING, lake: config.ATOLL_BUCKET_LAKE, cleanroomPrefix: config.ATOLL_BUCKET_CLEANROOM_PREFIX, licenses: config.ATOLL_BUCKET_LICENSES };
  const users: Array<{ user: string; secret: string; policy: PolicyDocument }> = [
    { user: 'atoll-api', secret: config.ATOLL_INIT_S3_API_SECRET, policy: apiServicePolicy(buckets) },
    { user: 'atoll-writer', secret: config.ATOLL_INIT_S3_WRITER_SECRET, policy: writerServicePolicy(buckets) },
    { user: 'atoll-cleanroom', secret: config.ATOLL_INIT_S3_CLEANROOM_SECRET, policy: cleanroomServicePolicy(buckets) },
  ];
  for (const { user, secret, policy } of users) {
    const policyName = `${user}-service`;
    await admin.putPolicy(policyName, policy);
    await admin.createUser(user, secret);
    await admin.attachPolicies(user, [policyName]);
    log.info({ op: 'init.storage.user.ready', user, policy: policyName }, 'storage service user ready');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`init failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
