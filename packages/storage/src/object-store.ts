// Plain S3 access for Atoll (MinIO or any S3): buckets with default SSE, objects, conditional writes, listings.
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import * as Minio from 'minio';

export interface S3Settings {
  endpoint: string; // http(s)://host:port
  region: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ObjectStat {
  size: number;
  etag: string;
  /** Value of x-amz-server-side-encryption, e.g. "AES256" when SSE-S3 applied. */
  serverSideEncryption: string | undefined;
  metadata: Record<string, string>;
}

export class PreconditionFailedError extends Error {
  readonly code = 'PreconditionFailed';
  readonly statusCode = 412;
  constructor(bucket: string, key: string) {
    super(`s3://${bucket}/${key} already exists`);
    this.name = 'PreconditionFailedError';
  }
}

/** ensureBucket found the bucket already there without a setting that can only be chosen at creation. */
export class BucketSettingsError extends Error {
  readonly code = 'BucketSettingsMismatch';
  constructor(bucket: string, setting: string) {
    super(`bucket ${bucket} already exists without ${setting}, which can only be set when a bucket is created; remove it or choose another name`);
    this.name = 'BucketSettingsError';
  }
}

function s3Code(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

export function isNotFound(e: unknown): boolean {
  const code = s3Code(e);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket';
}

export function isAccessDenied(e: unknown): boolean {
  return s3Code(e) === 'AccessDenied';
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

export function clientFor(settings: S3Settings): Minio.Client {
  const url = new URL(settings.endpoint);
  return new Minio.Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    useSSL: url.protocol === 'https:',
    region: settings.region,
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    pathStyle: true,
  });
}

export class ObjectStore {
  readonly client: Minio.Client;
  readonly settings: Readonly<S3Settings>;

  constructor(settings: S3Settings) {
    this.settings = Object.freeze({ ...settings });
    this.client = clientFor(settings);
  }

  /**
   * Creates the bucket if missing and (re)applies SSE-S3 default encryption so every object is encrypted at rest. An
   * existing bucket asked for with Object Lock must have it: that cannot be added later, so it is refused, not ignored.
   */
  async ensureBucket(name: string, opts: { objectLock?: boolean } = {}): Promise<void> {
    const exists = await this.client.bucketExists(name);
    if (exists && opts.objectLock) {
      // minio-js declares a void overload first; the promise one is what a single argument returns.
      const pending = this.client.getObjectLockConfig(name) as unknown as Promise<{ objectLockEnabled?: string }>;
      const lock = await pending.catch((e: unknown) => {
        if (s3Code(e) === 'ObjectLockConfigurationNotFoundError' || s3Code(e) === 'NoSuchObjectLockConfiguration') return null;
        throw e;
      });
      if (lock?.objectLockEnabled !== 'Enabled') throw new BucketSettingsError(name, 'Object Lock');
    }
    if (!exists) {
      try {
        await this.client.makeBucket(name, this.settings.region, opts.objectLock ? { ObjectLocking: true } : {});
      } catch (e) {
        if (s3Code(e) !== 'BucketAlreadyOwnedByYou') throw e;
      }
    }
    await this.client.setBucketEncryption(name, { Rule: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
  }

  async bucketExists(name: string): Promise<boolean> {
    return this.client.bucketExists(name);
  }

  async putObject(bucket: string, key: string, body: Buffer | Uint8Array | string | Readable, opts: { contentType?: string; ifNoneMatch?: boolean; size?: number } = {}): Promise<{ etag: string }> {
    const headers: Record<string, string> = { 'Content-Type': opts.contentType ?? 'application/octet-stream' };
    if (opts.ifNoneMatch) headers['If-None-Match'] = '*';
    const data = body instanceof Uint8Array && !Buffer.isBuffer(body) ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : body;
    try {
      const r = await this.client.putObject(bucket, key, data, opts.size, headers);
      return { etag: r.etag };
    } catch (e) {
      if (opts.ifNoneMatch && s3Code(e) === 'PreconditionFailed') throw new PreconditionFailedError(bucket, key);
      throw e;
    }
  }

  async putFile(bucket: string, key: string, path: string, opts: { contentType?: string; ifNoneMatch?: boolean } = {}): Promise<{ etag: string; size: number }> {
    const { size } = await stat(path);
    const r = await this.putObject(bucket, key, createReadStream(path), { ...opts, size });
    return { ...r, size };
  }

  async getObject(bucket: string, key: string): Promise<Buffer> {
    const stream = await this.client.getObject(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async getObjectStream(bucket: string, key: string): Promise<Readable> {
    return this.client.getObject(bucket, key);
  }

  /**
   * One GET streamed into `path` (created or truncated; removed again if the transfer fails). Not the client's
   * fGetObject: that adds a HEAD, a resumable `.part` file and a rename per object, which doubles the requests of
   * latency-bound work such as compaction downloading a thousand small files.
   */
  async downloadFile(bucket: string, key: string, path: string): Promise<void> {
    const body = await this.client.getObject(bucket, key);
    try {
      await pipeline(body, createWriteStream(path));
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
  }

  async statObject(bucket: string, key: string): Promise<ObjectStat | null> {
    try {
      const s = await this.client.statObject(bucket, key);
      const metadata = Object.fromEntries(Object.entries(s.metaData as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), String(v)]));
      return { size: s.size, etag: s.etag, serverSideEncryption: metadata['x-amz-server-side-encryption'], metadata };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async listObjects(bucket: string, prefix = ''): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const stream = this.client.listObjectsV2(bucket, prefix, true);
    for await (const item of stream as AsyncIterable<{ name?: string; size: number; etag: string; lastModified: Date }>) {
      if (item.name) out.push({ key: item.name, size: item.size, etag: item.etag, lastModified: item.lastModified });
    }
    return out;
  }

  async removeObjects(bucket: string, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) await this.client.removeObjects(bucket, keys.slice(i, i + 1000));
  }

  async removeObject(bucket: string, key: string): Promise<void> {
    await this.client.removeObject(bucket, key);
  }

  /** Announces every object created in `bucket` to a notification target (bulk ingest); replaces earlier rules. */
  async notifyObjectCreated(bucket: string, targetArn: string): Promise<void> {
    const config = new Minio.NotificationConfig();
    const queue = new Minio.QueueConfig(targetArn);
    queue.addEvent(Minio.ObjectCreatedAll);
    config.add(queue);
    await this.client.setBucketNotification(bucket, config);
  }

  /** Deletes every object and then the bucket. For tests and cleanroom deletion. */
  async removeBucket(bucket: string): Promise<void> {
    if (!(await this.client.bucketExists(bucket))) return;
    const keys = (await this.listObjects(bucket)).map((o) => o.key);
    await this.removeObjects(bucket, keys);
    await this.client.removeBucket(bucket);
  }
}

/** Iceberg file IO over S3 URIs (structurally the ObjectIO interface of @atoll/iceberg). */
export class S3FileIO {
  constructor(private readonly store: ObjectStore) {}

  async read(uri: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    return this.store.getObject(bucket, key);
  }

  async write(uri: string, bytes: Uint8Array, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.store.putObject(bucket, key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      ...(opts.ifNoneMatch ? { ifNoneMatch: true } : {}),
      contentType: uri.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    });
  }

  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(uri);
    return (await this.store.statObject(bucket, key)) !== null;
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.store.removeObject(bucket, key);
  }

  /** Batch delete (1,000 keys per request); for snapshot expiry and orphan removal. */
  async deleteMany(uris: string[]): Promise<void> {
    const byBucket = new Map<string, string[]>();
    for (const uri of uris) {
      const { bucket, key } = parseS3Uri(uri);
      const keys = byBucket.get(bucket);
      if (keys) keys.push(key);
      else byBucket.set(bucket, [key]);
    }
    for (const [bucket, keys] of byBucket) await this.store.removeObjects(bucket, keys);
  }

  /** Objects under `prefixUri` (s3://bucket/prefix), recursively; for orphan-file removal. */
  async list(prefixUri: string): Promise<Array<{ uri: string; lastModified: Date; size: number }>> {
    const { bucket, key } = parseS3Uri(prefixUri);
    return (await this.store.listObjects(bucket, key)).map((o) => ({ uri: `s3://${bucket}/${o.key}`, lastModified: o.lastModified, size: o.size }));
  }
}
