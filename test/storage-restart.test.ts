// What init made on the S3 server outlives a restart of that server: the services' users and policies, and the api's
// vended-credentials role (SeaweedFS keeps roles in memory unless its IAM config names the filer as their store; the
// chaos test found vended credentials refused after a restart). Runs on whichever server the stack runs.
import { describe, expect, it } from 'vitest';
import { ensureServices, stopService, type StorageKind } from '@atoll/stack';
import { checkVendedCredentialsRole, createStorageAdmin, vendedCredentialsPolicy, vendedCredentialsRole } from '@atoll/storage';
import { listKeys, s3Client } from './support/storage-targets.js';
import { env } from './support/actors.js';

const kind = (env.ATOLL_STORAGE as StorageKind | undefined) ?? 'minio';
const connection = { endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_API_ACCESS_KEY!, secretKey: env.ATOLL_S3_API_SECRET_KEY! };
const lake = env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';

async function vendedSessionListsLake(): Promise<void> {
  const api = createStorageAdmin(kind, connection);
  await checkVendedCredentialsRole(api, connection.accessKey);
  // A session of the role as the catalog asks for it (bounded by the role's policy), listing the lake.
  const buckets = { staging: env.ATOLL_BUCKET_STAGING ?? 'atoll-staging', lake, cleanroomPrefix: env.ATOLL_BUCKET_CLEANROOM_PREFIX ?? 'atoll-cr-' };
  const c = await api.assumeRole({ role: vendedCredentialsRole(connection.accessKey), policy: vendedCredentialsPolicy(buckets), durationSeconds: 900 });
  await listKeys(s3Client(connection, { accessKey: c.accessKeyId, secretKey: c.secretAccessKey, sessionToken: c.sessionToken }), lake, 'no-such-prefix/');
}

/** Starts the S3 server again; its ports can stay taken for a moment after it exited (the chaos test pauses too). */
async function startAgain(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureServices(['minio'], { say: () => {} });
      return;
    } catch (e) {
      if (attempt >= 15 || !/is taken by another program/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

describe(`the S3 server (${kind}) restarted`, () => {
  it("keeps the api's user, its policy and its vended-credentials role", async () => {
    await vendedSessionListsLake();
    await stopService('minio', 'SIGTERM');
    await startAgain();
    // The api's own key still signs and still reaches the lake (its user and service policy survived).
    await expect(listKeys(s3Client(connection, connection), lake, 'no-such-prefix/')).resolves.toEqual([]);
    // The role survived: the api can still vend credentials, as every loadTable does.
    await expect(vendedSessionListsLake()).resolves.toBeUndefined();
  }, 180_000);
});
