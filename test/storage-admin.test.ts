// MinioAdmin against a real MinIO: scoped users, policies and STS credentials behave as an S3 client sees them.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MinioAdmin, StorageAdminError, type PolicyDocument } from '@atoll/storage';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (the integration global setup provides it)`);
  return value;
}

const endpoint = requiredEnv('ATOLL_S3_ENDPOINT');
const region = requiredEnv('ATOLL_S3_REGION');
const rootUser = requiredEnv('ATOLL_S3_ROOT_USER');
const rootPassword = requiredEnv('ATOLL_S3_ROOT_PASSWORD');

function s3Client(credentials: { accessKey: string; secretKey: string; sessionToken?: string }): Client {
  const url = new URL(endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    region,
    pathStyle: true,
    ...credentials,
  });
}

async function readObject(client: Client, bucket: string, key: string): Promise<string> {
  const stream: Readable = await client.getObject(bucket, key);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

async function listKeys(client: Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true)) {
    const { name } = item as { name?: string };
    if (name) keys.push(name);
  }
  return keys;
}

/** The S3 error code a rejected call failed with. */
async function s3ErrorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error('expected the S3 call to be rejected');
}

const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const ownBucket = `atoll-adm-${runId}-own`;
const otherBucket = `atoll-adm-${runId}-other`;
const policyName = `atoll-adm-${runId}-bucket`;
const userAccessKey = `atoll-adm-${runId}`;
const userSecretKey = randomBytes(24).toString('base64url');

const bucketOnlyPolicy: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [`arn:aws:s3:::${ownBucket}`] },
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [`arn:aws:s3:::${ownBucket}/*`] },
  ],
};

function prefixReadPolicy(bucket: string, prefix: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/${prefix}*`] }],
  };
}

describe('MinioAdmin against MinIO', () => {
  const admin = new MinioAdmin({ endpoint, region, accessKey: rootUser, secretKey: rootPassword });
  const root = s3Client({ accessKey: rootUser, secretKey: rootPassword });

  beforeAll(async () => {
    await root.makeBucket(ownBucket, region);
    await root.makeBucket(otherBucket, region);
    await root.putObject(ownBucket, 'tables/t1/data.parquet', Buffer.from('t1 bytes'));
    await root.putObject(ownBucket, 'tables/t2/data.parquet', Buffer.from('t2 bytes'));
    await root.putObject(otherBucket, 'secret.txt', Buffer.from('not yours'));
  });

  afterAll(async () => {
    // Best effort through the public APIs: a cleanup failure must not mask the tests' own result.
    await admin.deleteUser(userAccessKey).catch(() => undefined);
    await admin.deletePolicy(policyName).catch(() => undefined);
    for (const bucket of [ownBucket, otherBucket]) {
      const keys = await listKeys(root, bucket).catch(() => []);
      if (keys.length > 0) await root.removeObjects(bucket, keys).catch(() => undefined);
      await root.removeBucket(bucket).catch(() => undefined);
    }
  });

  it('ping succeeds with the root keys and fails with a wrong secret', async () => {
    await expect(admin.ping()).resolves.toBeUndefined();
    const wrong = new MinioAdmin({ endpoint, region, accessKey: rootUser, secretKey: `${rootPassword}-wrong` });
    const error = await wrong.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageAdminError);
    expect((error as StorageAdminError).status).toBe(403);
    expect((error as StorageAdminError).code).toBe('SignatureDoesNotMatch');
    expect((error as StorageAdminError).message).not.toContain(rootPassword);
  });

  it('a user with a bucket-only policy can use its bucket and nothing else', async () => {
    await admin.putPolicy(policyName, bucketOnlyPolicy);
    await admin.putPolicy(policyName, bucketOnlyPolicy); // create-or-replace
    await admin.createUser(userAccessKey, userSecretKey);
    await admin.attachPolicies(userAccessKey, [policyName]);
    await admin.attachPolicies(userAccessKey, [policyName]); // already attached: still fine

    const user = s3Client({ accessKey: userAccessKey, secretKey: userSecretKey });
    await user.putObject(ownBucket, 'uploads/hello.txt', Buffer.from('hello from the user'));
    expect(await readObject(user, ownBucket, 'uploads/hello.txt')).toBe('hello from the user');
    expect(await listKeys(user, ownBucket)).toContain('uploads/hello.txt');

    expect(await s3ErrorCode(listKeys(user, otherBucket))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(user, otherBucket, 'secret.txt'))).toBe('AccessDenied');
    expect(await s3ErrorCode(user.putObject(otherBucket, 'intrusion.txt', Buffer.from('x')))).toBe('AccessDenied');

    // A policy in use cannot be deleted; the server's code comes through.
    await expect(admin.deletePolicy(policyName)).rejects.toMatchObject({ name: 'StorageAdminError', code: 'XMinioIAMPolicyInUse' });
  });

  it('createUser on an existing user rotates its secret and keeps its policies', async () => {
    const rotated = randomBytes(24).toString('base64url');
    await admin.createUser(userAccessKey, rotated);
    const stale = s3Client({ accessKey: userAccessKey, secretKey: userSecretKey });
    expect(await s3ErrorCode(readObject(stale, ownBucket, 'uploads/hello.txt'))).toBe('SignatureDoesNotMatch');
    const fresh = s3Client({ accessKey: userAccessKey, secretKey: rotated });
    expect(await readObject(fresh, ownBucket, 'uploads/hello.txt')).toBe('hello from the user');
    expect(await s3ErrorCode(readObject(fresh, otherBucket, 'secret.txt'))).toBe('AccessDenied');
    await admin.createUser(userAccessKey, userSecretKey);
  });

  it('assumeRole with an inline policy yields credentials limited to a prefix', async () => {
    const before = Date.now();
    const temp = await admin.assumeRole({ policy: prefixReadPolicy(ownBucket, 'tables/t1/'), durationSeconds: 900 });
    expect(temp.accessKeyId).not.toBe(rootUser);
    expect(temp.expiresAt.getTime()).toBeGreaterThan(before + 800_000);
    expect(temp.expiresAt.getTime()).toBeLessThan(before + 1_000_000);

    const vended = s3Client({ accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey, sessionToken: temp.sessionToken });
    expect(await readObject(vended, ownBucket, 'tables/t1/data.parquet')).toBe('t1 bytes');
    expect(await s3ErrorCode(readObject(vended, ownBucket, 'tables/t2/data.parquet'))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(vended, otherBucket, 'secret.txt'))).toBe('AccessDenied');
    expect(await s3ErrorCode(vended.putObject(ownBucket, 'tables/t1/new.parquet', Buffer.from('x')))).toBe('AccessDenied');
  });

  it("a user's session policy cannot reach beyond the user's own policy", async () => {
    const asUser = new MinioAdmin({ endpoint, region, accessKey: userAccessKey, secretKey: userSecretKey });
    const temp = await asUser.assumeRole({ policy: prefixReadPolicy(otherBucket, ''), durationSeconds: 900 });
    const vended = s3Client({ accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey, sessionToken: temp.sessionToken });
    expect(await s3ErrorCode(readObject(vended, otherBucket, 'secret.txt'))).toBe('AccessDenied');
  });

  it('a service account is bounded by its parent and its inline policy; deleting it or its parent revokes it', async () => {
    const accessKey = `SA${runId.toUpperCase()}`.slice(0, 20).padEnd(16, 'X');
    const secretKey = randomBytes(24).toString('base64url');
    await admin.addServiceAccount({
      parentUser: userAccessKey,
      accessKey,
      secretKey,
      policy: prefixReadPolicy(ownBucket, 'uploads/'),
      expiresAt: new Date(Date.now() + 3600_000),
      description: 'conformance test',
    });
    const sa = s3Client({ accessKey, secretKey });
    expect(await readObject(sa, ownBucket, 'uploads/hello.txt')).toBe('hello from the user');
    // The parent may read tables/, the inline policy may not; the inline policy may never exceed the parent.
    expect(await s3ErrorCode(readObject(sa, ownBucket, 'tables/t1/data.parquet'))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(sa, otherBucket, 'secret.txt'))).toBe('AccessDenied');
    await admin.deleteServiceAccount(accessKey);
    expect(await s3ErrorCode(readObject(sa, ownBucket, 'uploads/hello.txt'))).toBe('InvalidAccessKeyId');
    await expect(admin.deleteServiceAccount(accessKey)).resolves.toBeUndefined();

    // Deleting the parent takes its service accounts with it.
    const parent = `atoll-adm-${runId}-parent`;
    await admin.createUser(parent, randomBytes(24).toString('base64url'));
    await admin.attachPolicies(parent, [policyName]);
    const childKey = `SC${runId.toUpperCase()}`.slice(0, 20).padEnd(16, 'X');
    await admin.addServiceAccount({ parentUser: parent, accessKey: childKey, secretKey });
    const child = s3Client({ accessKey: childKey, secretKey });
    expect(await readObject(child, ownBucket, 'uploads/hello.txt')).toBe('hello from the user');
    await admin.deleteUser(parent);
    expect(await s3ErrorCode(readObject(child, ownBucket, 'uploads/hello.txt'))).toMatch(/InvalidAccessKeyId|AccessDenied/);
  });

  it('deleteUser makes the keys stop working, and is idempotent', async () => {
    const user = s3Client({ accessKey: userAccessKey, secretKey: userSecretKey });
    expect(await readObject(user, ownBucket, 'uploads/hello.txt')).toBe('hello from the user');

    await admin.deleteUser(userAccessKey);
    expect(await s3ErrorCode(readObject(user, ownBucket, 'uploads/hello.txt'))).toBe('InvalidAccessKeyId');
    await expect(admin.deleteUser(userAccessKey)).resolves.toBeUndefined();

    // With the user gone the policy is free to go, and deleting it twice is fine too.
    await admin.deletePolicy(policyName);
    await expect(admin.deletePolicy(policyName)).resolves.toBeUndefined();
    await expect(admin.attachPolicies(userAccessKey, ['readonly'])).rejects.toMatchObject({ status: 404, code: 'XMinioAdminNoSuchUser' });
  });
});
