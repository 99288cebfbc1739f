// One-shot initialisation (the stack's and the deployments' "init" job): database migrations, buckets with default
// encryption, and the least-privilege MinIO users of the api, writer and cleanroom services. Uses the root S3
// credentials, which no long-running Atoll process holds. Deployments (compose, Helm) also turn on the license
// Object-Lock bucket, and a production init refuses to run while any variable still holds an example placeholder.
// Given Keycloak's admin password, it also brings the realm's step-up flow and the portal's sign-in client
// (`atoll-portal`, redirects to the api's public origins) up to date, as `npm run stack -- up` does locally.
import { Type, type Static } from '@sinclair/typebox';
import { BaseConfigSchema, loadConfig } from '@atoll/config';
import { createPool, migrate } from '@atoll/db';
import { keycloakAdmin, provisionStepUp } from '@atoll/identity';
import { createLogger } from '@atoll/log';
import {
  ObjectStore,
  apiServicePolicy,
  vendedCredentialsPolicy,
  vendedCredentialsRole,
  cleanroomServicePolicy,
  createStorageAdmin,
  storageDegradations,
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
    /** The services' S3 user names (= access keys). SeaweedFS takes letters and digits only (docs/storage.md). */
    ATOLL_INIT_S3_API_USER: Type.String({ default: 'atoll-api', pattern: '^[A-Za-z0-9._-]{3,64}$' }),
    ATOLL_INIT_S3_WRITER_USER: Type.String({ default: 'atoll-writer', pattern: '^[A-Za-z0-9._-]{3,64}$' }),
    ATOLL_INIT_S3_CLEANROOM_USER: Type.String({ default: 'atoll-cleanroom', pattern: '^[A-Za-z0-9._-]{3,64}$' }),
    /** Off by default: an Object-Lock bucket cannot be turned back into a normal one, so creating it is opt-in. */
    ATOLL_INIT_LICENSE_BUCKET: Type.Boolean({ default: false }),
    ATOLL_BUCKET_LICENSES: Type.String({ default: 'atoll-licenses', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
    /** ARN of MinIO's notification target for bulk ingest (e.g. arn:minio:sqs:us-east-1:ATOLL:redis); empty: none. */
    ATOLL_INIT_STAGING_NOTIFY_ARN: Type.String({ pattern: '^(arn:minio:sqs:.+)?$', default: '' }),
    /** Keycloak's master-realm admin password; empty: the realm's step-up flow and portal client are left alone. */
    ATOLL_KEYCLOAK_ADMIN_PASSWORD: Type.String({ default: '' }),
    ATOLL_KEYCLOAK_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
    ATOLL_REALM: Type.String({ default: 'atoll', pattern: '^[A-Za-z0-9_-]+$' }),
    /** Where people reach the api (and its portal at /portal/); default: the origin of ATOLL_API_URL. */
    ATOLL_API_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** More public origins of the api the portal's client may redirect to, comma-separated. */
    ATOLL_INIT_PORTAL_ORIGINS: Type.String({ default: '' }),
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

  // Init makes the api's storage user and, on SeaweedFS, the role its vended credentials are sessions of, both named
  // after ATOLL_INIT_S3_API_USER; the api signs as ATOLL_S3_ACCESS_KEY and asks for the role named after it. Init is
  // given the api's key (the stack, compose and Helm all do), so a mismatch is refused here, before anything changes.
  if (config.ATOLL_S3_ACCESS_KEY !== config.ATOLL_INIT_S3_API_USER) {
    throw new Error(
      `ATOLL_INIT_S3_API_USER (${config.ATOLL_INIT_S3_API_USER}) differs from the api's ATOLL_S3_ACCESS_KEY (${config.ATOLL_S3_ACCESS_KEY}): ` +
        `init would make the user ${config.ATOLL_INIT_S3_API_USER} and the vended-credentials role ${vendedCredentialsRole(config.ATOLL_INIT_S3_API_USER)}, ` +
        `but the api signs as ${config.ATOLL_S3_ACCESS_KEY} and asks for ${vendedCredentialsRole(config.ATOLL_S3_ACCESS_KEY)}; set both to the same name`,
    );
  }

  const pool = createPool(config.ATOLL_DATABASE_URL, { max: 1, applicationName: 'atoll-init' });
  try {
    const applied = await migrate(pool);
    log.info({ op: 'init.migrations.applied', applied }, `${applied.length} migration(s) applied`);
  } finally {
    await pool.end();
  }

  const root = { endpoint: config.ATOLL_S3_ENDPOINT, region: config.ATOLL_S3_REGION, accessKey: config.ATOLL_S3_ROOT_USER, secretKey: config.ATOLL_S3_ROOT_PASSWORD };
  for (const d of storageDegradations(config.ATOLL_STORAGE)) {
    log.warn({ op: 'init.storage.degraded', storage: config.ATOLL_STORAGE, capability: d.capability, fallback: d.fallback }, `${config.ATOLL_STORAGE} lacks ${d.capability}: ${d.fallback}`);
  }
  if (config.ATOLL_INIT_STAGING_NOTIFY_ARN && config.ATOLL_STORAGE !== 'minio') {
    throw new Error(`ATOLL_INIT_STAGING_NOTIFY_ARN names a MinIO notification target, which ${config.ATOLL_STORAGE} has not; leave it empty (the reconciler finds staging objects)`);
  }
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

  await configureKeycloak(config, log);

  const admin = createStorageAdmin(config.ATOLL_STORAGE, root);
  const buckets: BucketNames = { staging: config.ATOLL_BUCKET_STAGING, lake: config.ATOLL_BUCKET_LAKE, cleanroomPrefix: config.ATOLL_BUCKET_CLEANROOM_PREFIX, licenses: config.ATOLL_BUCKET_LICENSES };
  const users: Array<{ user: string; secret: string; policy: PolicyDocument }> = [
    { user: config.ATOLL_INIT_S3_API_USER, secret: config.ATOLL_INIT_S3_API_SECRET, policy: apiServicePolicy(buckets) },
    { user: config.ATOLL_INIT_S3_WRITER_USER, secret: config.ATOLL_INIT_S3_WRITER_SECRET, policy: writerServicePolicy(buckets) },
    { user: config.ATOLL_INIT_S3_CLEANROOM_USER, secret: config.ATOLL_INIT_S3_CLEANROOM_SECRET, policy: cleanroomServicePolicy(buckets, config.ATOLL_STORAGE) },
  ];
  for (const { user, secret, policy } of users) {
    const policyName = `${user}-service`;
    await admin.putPolicy(policyName, policy);
    await admin.createUser(user, secret);
    await admin.attachPolicies(user, [policyName]);
    log.info({ op: 'init.storage.user.ready', user, policy: policyName }, 'storage service user ready');
  }
  // The api's vended Iceberg credentials are sessions of this role (SeaweedFS; a no-op on MinIO, whose sessions are
  // bounded by the api user's own policy). Only the api's user may assume it; each session narrows it to one table.
  const role = vendedCredentialsRole(config.ATOLL_INIT_S3_API_USER);
  await admin.putPolicy(role, vendedCredentialsPolicy(buckets));
  await admin.putServiceRole(role, { trustedUser: config.ATOLL_INIT_S3_API_USER, policies: [role] });
  log.info({ op: 'init.storage.role.ready', role, trustedUser: config.ATOLL_INIT_S3_API_USER }, 'vended-credentials role ready');
}

/** The public origins the portal's sign-in client redirects to: ATOLL_API_URL's and ATOLL_INIT_PORTAL_ORIGINS. */
function portalOrigins(apiUrl: string | undefined, extra: string): string[] {
  const all = [...(apiUrl ? [apiUrl] : []), ...extra.split(',')].map((o) => o.trim()).filter((o) => o.length > 0);
  return [...new Set(all.map((o) => new URL(o).origin))];
}

/**
 * The realm's step-up configuration and the `atoll-portal` client (both idempotent). Keycloak may still be starting
 * (compose waits for it; a Helm Job retries with back-off), so a failure fails the init, which is safe to rerun.
 */
async function configureKeycloak(config: Static<typeof InitConfigSchema>, log: ReturnType<typeof createLogger>): Promise<void> {
  if (!config.ATOLL_KEYCLOAK_ADMIN_PASSWORD) {
    log.info({ op: 'init.keycloak.skipped' }, 'no ATOLL_KEYCLOAK_ADMIN_PASSWORD: the realm step-up flow and portal client are not configured here');
    return;
  }
  if (!config.ATOLL_KEYCLOAK_URL) throw new Error('ATOLL_KEYCLOAK_ADMIN_PASSWORD is set but ATOLL_KEYCLOAK_URL is not');
  const origins = portalOrigins(config.ATOLL_API_URL, config.ATOLL_INIT_PORTAL_ORIGINS);
  const kc = await keycloakAdmin(config.ATOLL_KEYCLOAK_URL.replace(/\/+$/, ''), config.ATOLL_REALM, config.ATOLL_KEYCLOAK_ADMIN_PASSWORD);
  await provisionStepUp(kc, { portalOrigins: origins });
  log.info({ op: 'init.keycloak.ready', realm: config.ATOLL_REALM, portalOrigins: origins }, 'Keycloak step-up flow and portal client ready');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`init failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
