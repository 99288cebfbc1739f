// The S3 servers the storage conformance suites run against: the stack's own (MinIO, or SeaweedFS when the stack runs
// with ATOLL_STORAGE=seaweedfs) and a spare server of the other kind that @atoll/stack starts beside it. Both are real
// servers; nothing is mocked.
import { Client } from 'minio';
import type { Readable } from 'node:stream';
import { ensureSpareStorage, type StorageKind } from '@atoll/stack';
import { createStorageAdmin, type StorageAdmin } from '@atoll/storage';

export interface StorageTarget {
  kind: StorageKind;
  endpoint: string;
  region: string;
  rootUser: string;
  rootPassword: string;
  admin: StorageAdmin;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (the integration global setup provides it)`);
  return value;
}

function target(kind: StorageKind, endpoint: string, region: string, rootUser: string, rootPassword: string): StorageTarget {
  return { kind, endpoint, region, rootUser, rootPassword, admin: createStorageAdmin(kind, { endpoint, region, accessKey: rootUser, secretKey: rootPassword }) };
}

/** Both servers, MinIO first. Starts the spare one (once; `npm run stack -- down` stops it). */
export async function storageTargets(): Promise<StorageTarget[]> {
  const own = target((process.env.ATOLL_STORAGE as StorageKind | undefined) ?? 'minio', requiredEnv('ATOLL_S3_ENDPOINT'), requiredEnv('ATOLL_S3_REGION'), requiredEnv('ATOLL_S3_ROOT_USER'), requiredEnv('ATOLL_S3_ROOT_PASSWORD'));
  const s = await ensureSpareStorage();
  const spare = target(s.kind, s.endpoint, s.region, s.rootUser, s.rootPassword);
  return [own, spare].sort((a, b) => a.kind.localeCompare(b.kind));
}

export function s3Client(t: Pick<StorageTarget, 'endpoint' | 'region'>, credentials: { accessKey: string; secretKey: string; sessionToken?: string }, opts: { partSize?: number } = {}): Client {
  const url = new URL(t.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    region: t.region,
    pathStyle: true,
    ...(opts.partSize ? { partSize: opts.partSize } : {}),
    ...credentials,
  });
}

export async function readObject(client: Client, bucket: string, key: string): Promise<string> {
  const stream: Readable = await client.getObject(bucket, key);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

export async function listKeys(client: Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    const { name } = item as { name?: string };
    if (name) keys.push(name);
  }
  return keys;
}

/** The S3 error code a rejected call failed with; fails the test if the call succeeded. */
export async function s3ErrorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error('expected the S3 call to be rejected');
}

/** Deletes every object (and every version) and then the bucket; best effort, for afterAll. */
export async function dropBucket(client: Client, bucket: string): Promise<void> {
  try {
    const objects: Array<{ name: string; versionId?: string }> = [];
    for await (const item of client.listObjects(bucket, '', true, { IncludeVersion: true })) {
      const o = item as { name?: string; versionId?: string };
      if (o.name) objects.push({ name: o.name, ...(o.versionId ? { versionId: o.versionId } : {}) });
    }
    if (objects.length > 0) await client.removeObjects(bucket, objects);
    await client.removeBucket(bucket);
  } catch {
    // Cleanup must not mask the tests' own result (an Object-Lock bucket keeps its locked objects by design).
  }
}
