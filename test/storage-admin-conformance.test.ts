// StorageAdmin conformance (issue 15): every implementation, against its real server, gives an S3 client the same
// answers — tenant keys confined to their bucket or prefix, temporary credentials narrowed by their session policy,
// bulk keys revoked at once, deleted users refused. Runs on MinIO and SeaweedFS (test/support/storage-targets.ts).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StorageAdminError,
  VendedCredentialsRoleError,
  apiServicePolicy,
  checkVendedCredentialsRole,
  bulkKeyPolicy,
  createStorageAdmin,
  provisionBulkKey,
  revokeBulkKey,
  revokeProviderBulkKeys,
  vendedCredentialsPolicy,
  vendedCredentialsRole,
  type PolicyDocument,
} from '@atoll/storage';
import { dropBucket, listKeys, readObject, s3Client, s3ErrorCode, storageTargets } from './support/storage-targets.js';

const targets = await storageTargets();

const arn = (bucket: string, path = '') => `arn:aws:s3:::${bucket}${path}`;

function bucketPolicy(bucket: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [arn(bucket)] },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [arn(bucket, '/*')] },
    ],
  };
}

function prefixReadPolicy(bucket: string, prefix: string): PolicyDocument {
  return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(bucket, `/${prefix}*`)] }] };
}

describe.each(targets)('StorageAdmin conformance on $kind', (t) => {
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const bucketA = `atoll-conf-${run}-a`;
  const bucketB = `atoll-conf-${run}-b`;
  const staging = `atoll-conf-${run}-staging`;
  // Letters and digits only: the one access-key shape both servers take (docs/storage.md).
  const tenantA = `confa${run}`;
  const tenantB = `confb${run}`;
  const secretA = randomBytes(24).toString('base64url');
  const secretB = randomBytes(24).toString('base64url');
  const policyA = `conf-${run}-a`;
  const policyB = `conf-${run}-b`;
  const providerA = `prov-${run}-a`;
  const providerB = `prov-${run}-b`;
  const root = s3Client(t, { accessKey: t.rootUser, secretKey: t.rootPassword });
  const admin = t.admin;

  beforeAll(async () => {
    for (const b of [bucketA, bucketB, staging]) await root.makeBucket(b, t.region);
    await root.putObject(bucketA, 'tables/t1/data.parquet', Buffer.from('t1 bytes'));
    await root.putObject(bucketA, 'tables/t2/data.parquet', Buffer.from('t2 bytes'));
    await root.putObject(bucketB, 'secret.txt', Buffer.from('tenant B only'));
    await root.putObject(staging, `${providerB}/theirs.csv`, Buffer.from('provider B data'));
    await admin.putPolicy(policyA, bucketPolicy(bucketA));
    await admin.putPolicy(policyA, bucketPolicy(bucketA)); // create-or-replace
    await admin.putPolicy(policyB, bucketPolicy(bucketB));
    await admin.createUser(tenantA, secretA);
    await admin.attachPolicies(tenantA, [policyA]);
    await admin.attachPolicies(tenantA, [policyA]); // already attached: still fine
    await admin.createUser(tenantB, secretB);
    await admin.attachPolicies(tenantB, [policyB]);
  });

  afterAll(async () => {
    for (const u of [tenantA, tenantB]) await admin.deleteUser(u).catch(() => undefined);
    for (const p of [policyA, policyB]) await admin.deletePolicy(p).catch(() => undefined);
    for (const p of [providerA, providerB]) await revokeProviderBulkKeys(admin, p).catch(() => undefined);
    for (const b of [bucketA, bucketB, staging]) await dropBucket(root, b);
  });

  it('ping answers with the root keys; a wrong secret is a 403 whose message holds no secret', async () => {
    await expect(admin.ping()).resolves.toBeUndefined();
    const wrong = createStorageAdmin(t.kind, { endpoint: t.endpoint, region: t.region, accessKey: t.rootUser, secretKey: `${t.rootPassword}-wrong` });
    const error = await wrong.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageAdminError);
    expect((error as StorageAdminError).status).toBe(403);
    expect((error as StorageAdminError).message).not.toContain(t.rootPassword);
  });

  it("tenant A's key works on its bucket and is denied on tenant B's, both ways", async () => {
    const a = s3Client(t, { accessKey: tenantA, secretKey: secretA });
    const b = s3Client(t, { accessKey: tenantB, secretKey: secretB });
    await a.putObject(bucketA, 'uploads/hello.txt', Buffer.from('hello from A'));
    expect(await readObject(a, bucketA, 'uploads/hello.txt')).toBe('hello from A');
    expect(await listKeys(a, bucketA)).toContain('uploads/hello.txt');

    expect(await s3ErrorCode(readObject(a, bucketB, 'secret.txt'))).toBe('AccessDenied');
    expect(await s3ErrorCode(listKeys(a, bucketB))).toBe('AccessDenied');
    expect(await s3ErrorCode(a.putObject(bucketB, 'intrusion.txt', Buffer.from('x')))).toBe('AccessDenied');
    expect(await s3ErrorCode(b.removeObject(bucketA, 'uploads/hello.txt'))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(b, bucketA, 'uploads/hello.txt'))).toBe('AccessDenied');
    // Nothing was written or removed by the refused calls.
    expect(await listKeys(root, bucketB)).toEqual(['secret.txt']);
    expect(await readObject(root, bucketA, 'uploads/hello.txt')).toBe('hello from A');
  });

  it('createUser on an existing user rotates its secret: the old one is refused, policies stay', async () => {
    const rotated = randomBytes(24).toString('base64url');
    await admin.createUser(tenantA, rotated);
    const stale = s3Client(t, { accessKey: tenantA, secretKey: secretA });
    expect(await s3ErrorCode(readObject(stale, bucketA, 'uploads/hello.txt'))).toBe('SignatureDoesNotMatch');
    const fresh = s3Client(t, { accessKey: tenantA, secretKey: rotated });
    expect(await readObject(fresh, bucketA, 'uploads/hello.txt')).toBe('hello from A');
    expect(await s3ErrorCode(readObject(fresh, bucketB, 'secret.txt'))).toBe('AccessDenied');
    await admin.createUser(tenantA, secretA);
  });

  it('assumeRole with a session policy yields credentials limited to one prefix, read-only', async () => {
    const before = Date.now();
    const temp = await admin.assumeRole({ policy: prefixReadPolicy(bucketA, 'tables/t1/'), durationSeconds: 900 });
    expect(temp.accessKeyId).not.toBe(t.rootUser);
    expect(temp.expiresAt.getTime()).toBeGreaterThan(before + 800_000);
    expect(temp.expiresAt.getTime()).toBeLessThan(before + 1_000_000);
    const vended = s3Client(t, { accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey, sessionToken: temp.sessionToken });
    expect(await readObject(vended, bucketA, 'tables/t1/data.parquet')).toBe('t1 bytes');
    expect(await s3ErrorCode(readObject(vended, bucketA, 'tables/t2/data.parquet'))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(vended, bucketB, 'secret.txt'))).toBe('AccessDenied');
    expect(await s3ErrorCode(vended.putObject(bucketA, 'tables/t1/new.parquet', Buffer.from('x')))).toBe('AccessDenied');
  });

  it('temporary credentials with a tampered session token or a wrong secret are refused', async () => {
    const temp = await admin.assumeRole({ policy: prefixReadPolicy(bucketA, 'tables/t1/'), durationSeconds: 900 });
    const flip = (s: string) => `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
    const tampered = s3Client(t, { accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey, sessionToken: flip(temp.sessionToken) });
    expect(await s3ErrorCode(readObject(tampered, bucketA, 'tables/t1/data.parquet'))).toMatch(/^(InvalidToken|InvalidTokenId|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch)$/);
    const noToken = s3Client(t, { accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey });
    expect(await s3ErrorCode(readObject(noToken, bucketA, 'tables/t1/data.parquet'))).toMatch(/^(InvalidToken|InvalidTokenId|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch)$/);
  });

  it("a tenant's own session policy cannot reach beyond the tenant's policy", async () => {
    const asTenant = createStorageAdmin(t.kind, { endpoint: t.endpoint, region: t.region, accessKey: tenantA, secretKey: secretA });
    const temp = await asTenant.assumeRole({ policy: prefixReadPolicy(bucketB, ''), durationSeconds: 900 }).catch((e: unknown) => e);
    // Either the server refuses to mint it, or what it mints cannot read tenant B's bucket.
    if (temp instanceof Error) {
      expect(temp).toBeInstanceOf(StorageAdminError);
      expect((temp as StorageAdminError).status).toBe(403);
      return;
    }
    const creds = temp as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const vended = s3Client(t, { accessKey: creds.accessKeyId, secretKey: creds.secretAccessKey, sessionToken: creds.sessionToken });
    expect(await s3ErrorCode(readObject(vended, bucketB, 'secret.txt'))).toBe('AccessDenied');
  });

  it("the api's vended credentials (its service role ∩ a table's session policy) reach that table's prefix and no more", async () => {
    // What init and the Iceberg REST catalog do: the api's user with its service policy, the vended-credentials role
    // (SeaweedFS; MinIO bounds the session by the user's own policy), and a session narrowed to one lake table.
    // bucketA plays the lake, bucketB a consumer's cleanroom, `staging` the staging bucket.
    const buckets = { staging, lake: bucketA, cleanroomPrefix: bucketB };
    const api = `confapi${run}`;
    const apiSecret = randomBytes(24).toString('base64url');
    const servicePolicy = `conf-${run}-api`;
    const role = vendedCredentialsRole(api);
    await admin.putPolicy(servicePolicy, apiServicePolicy(buckets));
    await admin.createUser(api, apiSecret);
    await admin.attachPolicies(api, [servicePolicy]);
    await admin.putPolicy(role, vendedCredentialsPolicy(buckets));
    await admin.putServiceRole(role, { trustedUser: api, policies: [role] });
    await admin.putServiceRole(role, { trustedUser: api, policies: [role] }); // init run again: still fine
    try {
      const asApi = createStorageAdmin(t.kind, { endpoint: t.endpoint, region: t.region, accessKey: api, secretKey: apiSecret });
      // The api's own key reaches staging and the cleanroom: whatever the session is refused below, its policies decide.
      const own = s3Client(t, { accessKey: api, secretKey: apiSecret });
      expect(await readObject(own, bucketB, 'secret.txt')).toBe('tenant B only');
      expect(await readObject(own, staging, `${providerB}/theirs.csv`)).toBe('provider B data');

      const table = 'tables/t1';
      const session: PolicyDocument = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: [arn(bucketA)] },
          { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [arn(bucketA)], Condition: { StringLike: { 's3:prefix': [table, `${table}/*`] } } },
          { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [arn(bucketA, `/${table}/*`)] },
        ],
      };
      // The api's start-up check: its own key gets its role; a key the role was not made for is refused on SeaweedFS
      // (MinIO has no roles: there the check only asks that STS answers the key).
      await expect(checkVendedCredentialsRole(asApi, api)).resolves.toBeUndefined();
      const asTenantA = createStorageAdmin(t.kind, { endpoint: t.endpoint, region: t.region, accessKey: tenantA, secretKey: secretA });
      // One after the other: a second refusal started early would reject before anything awaits it (unhandled).
      for (const check of [() => checkVendedCredentialsRole(asTenantA, tenantA), () => checkVendedCredentialsRole(asTenantA, api)]) {
        const mismatch = check();
        if (t.kind === 'seaweedfs') {
          const e = await mismatch.catch((x: unknown) => x);
          expect(e).toBeInstanceOf(VendedCredentialsRoleError);
          expect((e as Error).message).toMatch(/ATOLL_INIT_S3_API_USER, which must equal the api's ATOLL_S3_ACCESS_KEY/);
          expect((e as Error).message).not.toContain(secretA);
        } else {
          await expect(mismatch).resolves.toBeUndefined();
        }
      }
      const temp = await asApi.assumeRole({ role, policy: session, durationSeconds: 900 });
      const vended = s3Client(t, { accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey, sessionToken: temp.sessionToken });
      // Its table: read, list, append under data/ and metadata/.
      expect(await readObject(vended, bucketA, `${table}/data.parquet`)).toBe('t1 bytes');
      expect(await listKeys(vended, bucketA, `${table}/`)).toContain(`${table}/data.parquet`);
      await vended.putObject(bucketA, `${table}/data/part-1.parquet`, Buffer.from('appended'));
      await vended.putObject(bucketA, `${table}/metadata/v2.metadata.json`, Buffer.from('{}'));
      expect(await readObject(root, bucketA, `${table}/data/part-1.parquet`)).toBe('appended');
      // Outside data/ and metadata/ the role (MinIO: the api's own policy) refuses, though the session policy allows.
      expect(await s3ErrorCode(vended.putObject(bucketA, `${table}/loose.txt`, Buffer.from('x')))).toBe('AccessDenied');
      // Another table of the lake, the staging bucket, a cleanroom: all refused.
      expect(await s3ErrorCode(readObject(vended, bucketA, 'tables/t2/data.parquet'))).toBe('AccessDenied');
      expect(await s3ErrorCode(vended.putObject(bucketA, 'tables/t2/data/forged.parquet', Buffer.from('x')))).toBe('AccessDenied');
      expect(await s3ErrorCode(listKeys(vended, bucketA, 'tables/t2/'))).toBe('AccessDenied');
      expect(await s3ErrorCode(readObject(vended, staging, `${providerB}/theirs.csv`))).toBe('AccessDenied');
      expect(await s3ErrorCode(vended.putObject(staging, 'forged.csv', Buffer.from('x')))).toBe('AccessDenied');
      expect(await s3ErrorCode(readObject(vended, bucketB, 'secret.txt'))).toBe('AccessDenied');
      // Nothing the refused calls tried was written.
      expect(await listKeys(root, bucketA, 'tables/t2/')).toEqual(['tables/t2/data.parquet']);
      expect(await listKeys(root, staging)).toEqual([`${providerB}/theirs.csv`]);
      expect(await listKeys(root, bucketA, `${table}/`)).not.toContain(`${table}/loose.txt`);

      // Another tenant naming the api's role gets nothing of the lake: SeaweedFS refuses (the trust policy names the
      // api's user alone); MinIO has no such roles, so the session is bounded by that tenant's own policy.
      const asTenantB = createStorageAdmin(t.kind, { endpoint: t.endpoint, region: t.region, accessKey: tenantB, secretKey: secretB });
      const stolen = await asTenantB.assumeRole({ role, policy: session, durationSeconds: 900 }).catch((e: unknown) => e);
      if (t.kind === 'seaweedfs') {
        expect(stolen).toMatchObject({ name: 'StorageAdminError', status: 403 });
      } else {
        const c = stolen as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
        expect(await s3ErrorCode(readObject(s3Client(t, { accessKey: c.accessKeyId, secretKey: c.secretAccessKey, sessionToken: c.sessionToken }), bucketA, `${table}/data.parquet`))).toBe('AccessDenied');
      }
    } finally {
      await admin.deleteServiceRole(role);
      await admin.deleteServiceRole(role); // a missing role is no error
      await admin.deleteUser(api);
      await admin.deletePolicy(role);
      await admin.deletePolicy(servicePolicy);
    }
  });

  it("changing an attached policy changes what its user and a role's sessions reach, both ways; a bad document changes nothing", async () => {
    // SeaweedFS: putPolicy replaces the document under its holders (CreatePolicyVersion refuses s3:CreateBucket);
    // MinIO: one add-canned-policy. The role is SeaweedFS's; MinIO bounds the user's session by its own policy.
    const user = `confc${run}`;
    const secret = randomBytes(24).toString('base64url');
    const policy = `conf-${run}-c`;
    const role = `conf-${run}-c-role`;
    const t1Only = prefixReadPolicy(bucketA, 'tables/t1/');
    // What the cleanroom worker's policy holds and CreatePolicyVersion refused on SeaweedFS: s3:CreateBucket.
    const t2Only: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [...prefixReadPolicy(bucketA, 'tables/t2/').Statement, { Effect: 'Allow', Action: ['s3:CreateBucket'], Resource: [arn(`atoll-conf-${run}-never`)] }],
    };
    await admin.putPolicy(policy, t1Only);
    await admin.createUser(user, secret);
    await admin.attachPolicies(user, [policy]);
    await admin.putServiceRole(role, { trustedUser: user, policies: [policy] });
    const asUser = createStorageAdmin(t.kind, { endpoint: t.endpoint, region: t.region, accessKey: user, secretKey: secret });
    const own = s3Client(t, { accessKey: user, secretKey: secret });
    const session = async () => {
      const c = await asUser.assumeRole({ role, policy: prefixReadPolicy(bucketA, 'tables/'), durationSeconds: 900 });
      return s3Client(t, { accessKey: c.accessKeyId, secretKey: c.secretAccessKey, sessionToken: c.sessionToken });
    };
    /** Which of t1 and t2 the user's key and a fresh session of the role can read. */
    const reach = async () => {
      const out: string[] = [];
      const s = await session();
      for (const [who, client] of [['user', own], ['session', s]] as const) {
        for (const table of ['t1', 't2']) {
          const r = await readObject(client, bucketA, `tables/${table}/data.parquet`).then(
            () => 'read',
            (e: unknown) => String((e as { code?: unknown }).code),
          );
          out.push(`${who} ${table} ${r}`);
        }
      }
      return out;
    };
    try {
      expect(await reach()).toEqual(['user t1 read', 'user t2 AccessDenied', 'session t1 read', 'session t2 AccessDenied']);
      await admin.putPolicy(policy, t2Only);
      expect(await reach()).toEqual(['user t1 AccessDenied', 'user t2 read', 'session t1 AccessDenied', 'session t2 read']);
      await admin.putPolicy(policy, t2Only); // the same document again: nothing to do
      expect(await reach()).toEqual(['user t1 AccessDenied', 'user t2 read', 'session t1 AccessDenied', 'session t2 read']);
      await admin.putPolicy(policy, t1Only);
      expect(await reach()).toEqual(['user t1 read', 'user t2 AccessDenied', 'session t1 read', 'session t2 AccessDenied']);

      // Documents no server should take are refused alike, and what the user and the role reach stays as it was.
      const maybe = { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: ['s3:GetObject'], Resource: [arn(bucketA, '/*')] }] } as unknown as PolicyDocument;
      await expect(admin.putPolicy(policy, maybe)).rejects.toThrow(/invalid policy document: statement 1: Effect must be "Allow" or "Deny"/);
      await expect(admin.putPolicy(policy, { Version: '2012-10-17', Statement: [] })).rejects.toThrow(/invalid policy document/);
      await expect(admin.putPolicy(policy, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['GetObject'], Resource: [arn(bucketA, '/*')] }] })).rejects.toThrow(/invalid policy document/);
      expect(await reach()).toEqual(['user t1 read', 'user t2 AccessDenied', 'session t1 read', 'session t2 AccessDenied']);
    } finally {
      await admin.deleteServiceRole(role);
      await admin.deleteUser(user);
      // Detached from everyone, with no scratch policy left attached anywhere: the policy can go.
      await admin.deletePolicy(policy);
    }
  });

  it("a provider's bulk key reaches only its staging prefix, and revoking it works at once", async () => {
    const key = await provisionBulkKey({ admin, stagingBucket: staging, providerId: providerA, expiresAt: new Date(Date.now() + 3600_000) });
    expect(key.accessKeyId).toMatch(/^[A-Za-z0-9]{16,}$/);
    const bulk = s3Client(t, { accessKey: key.accessKeyId, secretKey: key.secretAccessKey });
    await bulk.putObject(staging, `${providerA}/batch-1.csv`, Buffer.from('a,b\n1,2\n'));
    expect(await readObject(bulk, staging, `${providerA}/batch-1.csv`)).toBe('a,b\n1,2\n');
    expect(await listKeys(bulk, staging, `${providerA}/`)).toEqual([`${providerA}/batch-1.csv`]);

    expect(await s3ErrorCode(bulk.putObject(staging, `${providerB}/forged.csv`, Buffer.from('x')))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(bulk, staging, `${providerB}/theirs.csv`))).toBe('AccessDenied');
    expect(await s3ErrorCode(listKeys(bulk, staging, `${providerB}/`))).toBe('AccessDenied');
    expect(await s3ErrorCode(readObject(bulk, bucketA, 'tables/t1/data.parquet'))).toBe('AccessDenied');
    expect(await listKeys(root, staging, `${providerB}/`)).toEqual([`${providerB}/theirs.csv`]);

    await revokeBulkKey(admin, key.accessKeyId);
    expect(await s3ErrorCode(readObject(bulk, staging, `${providerA}/batch-1.csv`))).toMatch(/^(InvalidAccessKeyId|AccessDenied)$/);
    await expect(revokeBulkKey(admin, key.accessKeyId)).resolves.toBeUndefined();

    // Revoking a provider takes every key it has with it.
    const k1 = await provisionBulkKey({ admin, stagingBucket: staging, providerId: providerA, expiresAt: new Date(Date.now() + 3600_000) });
    const k2 = await provisionBulkKey({ admin, stagingBucket: staging, providerId: providerA, expiresAt: new Date(Date.now() + 3600_000) });
    for (const k of [k1, k2]) expect(await readObject(s3Client(t, { accessKey: k.accessKeyId, secretKey: k.secretAccessKey }), staging, `${providerA}/batch-1.csv`)).toBe('a,b\n1,2\n');
    await revokeProviderBulkKeys(admin, providerA);
    for (const k of [k1, k2]) {
      expect(await s3ErrorCode(readObject(s3Client(t, { accessKey: k.accessKeyId, secretKey: k.secretAccessKey }), staging, `${providerA}/batch-1.csv`))).toMatch(/^(InvalidAccessKeyId|AccessDenied)$/);
    }
  });

  it('the bulk key policy is the same document on both servers', () => {
    expect(bulkKeyPolicy(staging, providerA).Statement.flatMap((s) => s.Resource ?? [])).toEqual([arn(staging), arn(staging), arn(staging, `/${providerA}/*`)]);
  });

  it('deleteUser makes the keys stop working and is idempotent; then the policy can go', async () => {
    const b = s3Client(t, { accessKey: tenantB, secretKey: secretB });
    expect(await readObject(b, bucketB, 'secret.txt')).toBe('tenant B only');
    await admin.deleteUser(tenantB);
    expect(await s3ErrorCode(readObject(b, bucketB, 'secret.txt'))).toBe('InvalidAccessKeyId');
    await expect(admin.deleteUser(tenantB)).resolves.toBeUndefined();
    await admin.deletePolicy(policyB);
    await expect(admin.deletePolicy(policyB)).resolves.toBeUndefined();
  });
});
