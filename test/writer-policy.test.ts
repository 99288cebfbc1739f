// The writer's own least-privilege key against a real MinIO: a data file larger than the S3 client's part size (64 MiB,
// uploaded in parts) goes into the lake. Found by the bulk benchmark: a 1 GiB CSV's Parquet was denied at its upload.
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ObjectStore } from '@atoll/storage';

const env = process.env as Record<string, string>;
const writer = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
const key = `test/writer-policy-${randomBytes(4).toString('hex')}/data/large.parquet`;
const file = join(tmpdir(), `atoll-writer-policy-${randomBytes(4).toString('hex')}.bin`);

afterAll(async () => {
  await writer.removeObjects('atoll-lake', [key]).catch(() => undefined);
  await rm(file, { force: true });
});

it('uploads a 65 MiB data file into the lake with the writer key (multipart)', async () => {
  const size = 65 * 1024 * 1024;
  const handle = await open(file, 'w');
  await handle.truncate(size);
  await handle.close();
  await writer.putFile('atoll-lake', key, file, { contentType: 'application/vnd.apache.parquet' });
  const listed = await writer.listObjects('atoll-lake', key);
  expect(listed.map((o) => ({ key: o.key, size: o.size }))).toEqual([{ key, size }]);
}, 120_000);
