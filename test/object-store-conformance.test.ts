// Object-store conformance (issue 15): the plain-S3 operations Atoll relies on — default SSE, conditional writes that
// Iceberg commits and the license archive depend on, multipart uploads, listings, batch deletes, Object Lock in
// COMPLIANCE mode, a bucket that exists with other settings — answer the same on MinIO and on SeaweedFS. Each `it`
// backs one row of the capability matrix in docs/storage.md.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketSettingsError, ObjectStore, PreconditionFailedError } from '@atoll/storage';
import { dropBucket, listKeys, readObject, s3Client, s3ErrorCode, storageTargets } from './support/storage-targets.js';

const targets = await storageTargets();

describe.each(targets)('object-store conformance on $kind', (t) => {
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const bucket = `atoll-osc-${run}`;
  const locked = `atoll-osc-${run}-lock`;
  const plain = `atoll-osc-${run}-plain`;
  const store = new ObjectStore({ endpoint: t.endpoint, region: t.region, accessKey: t.rootUser, secretKey: t.rootPassword });
  const root = s3Client(t, { accessKey: t.rootUser, secretKey: t.rootPassword });

  beforeAll(async () => {
    await store.ensureBucket(bucket);
  });

  afterAll(async () => {
    for (const b of [bucket, locked, plain]) await dropBucket(root, b);
  });

  it('ensureBucket gives every object SSE-S3 (AES256) and is idempotent', async () => {
    await store.ensureBucket(bucket);
    await store.putObject(bucket, 'sse/one.txt', 'encrypted at rest');
    const stat = await store.statObject(bucket, 'sse/one.txt');
    expect(stat?.serverSideEncryption).toBe('AES256');
    expect((await store.getObject(bucket, 'sse/one.txt')).toString()).toBe('encrypted at rest');
  });

  it('If-None-Match: * writes once; the second write is a 412 and the first bytes stay', async () => {
    await store.putObject(bucket, 'meta/v1.metadata.json', '{"v":1}', { ifNoneMatch: true });
    await expect(store.putObject(bucket, 'meta/v1.metadata.json', '{"v":"forged"}', { ifNoneMatch: true })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await store.getObject(bucket, 'meta/v1.metadata.json')).toString()).toBe('{"v":1}');
  });

  it('If-Match writes only over the ETag it names', async () => {
    const first = await root.putObject(bucket, 'hint/version-hint.text', Buffer.from('1'));
    const stale = '"00000000000000000000000000000000"';
    expect(await s3ErrorCode(root.putObject(bucket, 'hint/version-hint.text', Buffer.from('2'), undefined, { 'If-Match': stale }))).toBe('PreconditionFailed');
    expect(await readObject(root, bucket, 'hint/version-hint.text')).toBe('1');
    await root.putObject(bucket, 'hint/version-hint.text', Buffer.from('2'), undefined, { 'If-Match': `"${first.etag}"` });
    expect(await readObject(root, bucket, 'hint/version-hint.text')).toBe('2');
  });

  it('a multipart upload (3 parts) reads back byte for byte, encrypted', async () => {
    const bytes = randomBytes(11 * 1024 * 1024);
    const multipart = s3Client(t, { accessKey: t.rootUser, secretKey: t.rootPassword }, { partSize: 5 * 1024 * 1024 });
    // 11 MiB through a client whose part size is 5 MiB: CreateMultipartUpload, three UploadParts, Complete.
    const put = await multipart.putObject(bucket, 'data/big.parquet', Readable.from([bytes]), bytes.length);
    // A multipart ETag is "<md5 of the parts' md5s>-<count>" (SeaweedFS counts its own chunks), never a plain md5.
    expect(put.etag).toMatch(/^"?[0-9a-f]{32}-\d+"?$/);
    const back = await store.getObject(bucket, 'data/big.parquet');
    expect(back.length).toBe(bytes.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await store.statObject(bucket, 'data/big.parquet'))?.serverSideEncryption).toBe('AES256');
  });

  it('lists recursively under a prefix, and removes in batches', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `list/p/${String(i).padStart(3, '0')}.bin`);
    for (const k of keys) await store.putObject(bucket, k, k);
    await store.putObject(bucket, 'list/q/other.bin', 'x');
    expect((await store.listObjects(bucket, 'list/p/')).map((o) => o.key)).toEqual(keys);
    await store.removeObjects(bucket, keys.slice(0, 20));
    expect((await store.listObjects(bucket, 'list/')).map((o) => o.key)).toEqual([...keys.slice(20), 'list/q/other.bin']);
    await store.removeObject(bucket, 'list/q/other.bin');
    expect(await store.statObject(bucket, 'list/q/other.bin')).toBeNull();
  });

  it('Object Lock (COMPLIANCE): a locked version cannot be deleted or shortened, not even by root', async () => {
    await store.ensureBucket(locked, { objectLock: true });
    const put = await root.putObject(locked, 'entries/1.json', Buffer.from('{"license":1}'), undefined, { 'If-None-Match': '*' });
    expect(put.versionId).toBeTruthy();
    const until = new Date(Date.now() + 24 * 3600_000);
    await root.putObjectRetention(locked, 'entries/1.json', { versionId: put.versionId!, mode: 'COMPLIANCE', retainUntilDate: until.toISOString() });
    // Both refuse; the code differs: MinIO says InvalidRequest ("Object is WORM protected"), SeaweedFS AccessDenied.
    const refusal = /^(AccessDenied|InvalidRequest)$/;
    expect(await s3ErrorCode(root.removeObject(locked, 'entries/1.json', { versionId: put.versionId! }))).toMatch(refusal);
    const shorter = new Date(Date.now() + 3600_000);
    expect(await s3ErrorCode(root.putObjectRetention(locked, 'entries/1.json', { versionId: put.versionId!, mode: 'COMPLIANCE', retainUntilDate: shorter.toISOString() }))).toMatch(refusal);
    const kept = await root.statObject(locked, 'entries/1.json', { versionId: put.versionId! });
    expect(kept.size).toBe('{"license":1}'.length);
    expect(await readObject(root, locked, 'entries/1.json')).toBe('{"license":1}');
  });

  it('a bucket that already exists without Object Lock is refused when Object Lock is asked for', async () => {
    await store.ensureBucket(plain);
    await store.putObject(plain, 'keep.txt', 'still here');
    await expect(store.ensureBucket(plain, { objectLock: true })).rejects.toBeInstanceOf(BucketSettingsError);
    expect((await store.getObject(plain, 'keep.txt')).toString()).toBe('still here');
    // The other way round is no conflict: a locked bucket serves as a plain one.
    await expect(store.ensureBucket(locked)).resolves.toBeUndefined();
  });

  it('a key without rights on the bucket sees AccessDenied on every operation Atoll uses', async () => {
    // An STS session whose policy names another bucket: the same refusal on both servers.
    const temp = await t.admin.assumeRole({ durationSeconds: 900, policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${plain}/*`] }] } });
    const outsider = s3Client(t, { accessKey: temp.accessKeyId, secretKey: temp.secretAccessKey, sessionToken: temp.sessionToken });
    expect(await s3ErrorCode(readObject(outsider, bucket, 'sse/one.txt'))).toBe('AccessDenied');
    expect(await s3ErrorCode(listKeys(outsider, bucket))).toBe('AccessDenied');
    expect(await s3ErrorCode(outsider.putObject(bucket, 'sse/one.txt', Buffer.from('overwrite')))).toBe('AccessDenied');
    expect(await s3ErrorCode(outsider.removeObject(bucket, 'sse/one.txt'))).toBe('AccessDenied');
    expect((await store.getObject(bucket, 'sse/one.txt')).toString()).toBe('encrypted at rest');
  });
});
