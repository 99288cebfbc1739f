// The walking skeleton end to end against the real stack: provider upload → staging → ingest → raw and published
// Iceberg tables → consumer cleanroom → estimate → subscription → rows read back with the consumer's own key;
// and that key is denied everywhere else.
import { describe, expect, it, beforeAll } from 'vitest';
import { ObjectStore, isAccessDenied } from '@atoll/storage';
import { demoBulkRecords, demoRecords, runDemo, type DemoResult } from '@atoll/stack';
import { env, newConsumer, operator } from './support/actors.js';

async function denied(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isAccessDenied(e), `expected AccessDenied, got ${String((e as { code?: string }).code)}: ${String(e)}`).toBe(true);
    return;
  }
  throw new Error('the request was allowed');
}

let demo: DemoResult;
const lines: string[] = [];

beforeAll(async () => {
  demo = await runDemo({ out: (l) => lines.push(l), env });
}, 180_000);

describe('walking skeleton', () => {
  it('delivers exactly the matching rows, deidentified, into the cleanroom', () => {
    // The API upload and the CSV.gz put over S3 with the provider's bulk key.
    const expected = [...demoRecords(), ...demoBulkRecords()]
      .filter((r) => (r.amount as number) > 20)
      .map((r) => `${String(r.category)}|${(r.amount as number).toFixed(2)}|${String(r.purchased_at).replace('T', ' ').replace('.000Z', '')}`)
      .sort();
    const got = demo.rows.map((r) => `${String(r.category)}|${String(r.amount)}|${String(r.purchased_at)}`).sort();
    expect(got).toEqual(expected);
    for (const row of demo.rows) {
      expect(Object.keys(row).sort()).toEqual(['amount', 'category', 'purchased_at', 'tid']);
      expect(row.tid).toMatch(/^[0-9a-f]{32}$/);
    }
    // Two purchases per user: every pseudonym appears for the same user on both rows, none is a raw user id.
    const tids = new Set(demo.rows.map((r) => r.tid));
    expect(tids.size).toBeGreaterThanOrEqual(25);
    expect(JSON.stringify(demo.rows)).not.toMatch(/user-0|@example\.com/);
    expect(lines.join('\n')).toContain(`rows read from s3://${demo.cleanroom.bucket}/${demo.table}`);
    // Every delivered record billed once, at the dataset's $0.01.
    expect(lines.join('\n')).toContain(`billed for ${new Date().toISOString().slice(0, 7)}: ${demo.rows.length} records, ${(demo.rows.length / 100).toFixed(2).replace(/\.?0+$/, '')} usd`);
  });

  it('gives the same pseudonym everywhere: the device\'s TID from the API is the one the writer put on its rows', () => {
    // user-001's two provider-uploaded purchases (42.00 and 52.00) pass the amount > 20 filter; the device's own
    // 12.50 record does not. The API (registration) and the writer (deidentification) derive TIDs independently.
    const mine = demo.rows.filter((r) => r.tid === demo.deviceTid).map((r) => String(r.amount)).sort();
    const expected = demoRecords()
      .filter((r) => r.user_id === demo.deviceUserId && (r.amount as number) > 20)
      .map((r) => (r.amount as number).toFixed(2))
      .sort();
    expect(expected).toHaveLength(2);
    expect(mine).toEqual(expected);
  });

  it('keeps every object encrypted at rest (SSE-S3) in the cleanroom and the lake', async () => {
    const consumerStore = new ObjectStore({ endpoint: demo.cleanroom.endpoint, region: demo.cleanroom.region, accessKey: demo.cleanroom.accessKeyId, secretKey: demo.cleanroom.secretAccessKey });
    const objects = await consumerStore.listObjects(demo.cleanroom.bucket);
    expect(objects.some((o) => o.key.endsWith('.parquet'))).toBe(true);
    for (const o of objects) expect((await consumerStore.statObject(demo.cleanroom.bucket, o.key))?.serverSideEncryption).toBe('AES256');
    const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    const lakeObjects = await root.listObjects('atoll-lake', `published/${demo.dataset}/`);
    expect(lakeObjects.length).toBeGreaterThan(2);
    for (const o of lakeObjects) expect((await root.statObject('atoll-lake', o.key))?.serverSideEncryption).toBe('AES256');
  });

  it("denies the consumer's key on the lake, staging and any other cleanroom, and outside scratch/", async () => {
    const key = demo.cleanroom;
    const mine = new ObjectStore({ endpoint: key.endpoint, region: key.region, accessKey: key.accessKeyId, secretKey: key.secretAccessKey });
    const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    const lakeFile = (await root.listObjects('atoll-lake', `published/${demo.dataset}/data/`))[0]!;

    await denied(mine.listObjects('atoll-lake'));
    await denied(mine.getObject('atoll-lake', lakeFile.key));
    await denied(mine.listObjects('atoll-staging'));
    await denied(mine.putObject('atoll-staging', `${demo.providerId}/purchases/evil.csv`, 'x'));
    await denied(mine.putObject(key.bucket, 'big_purchases/metadata/v999.metadata.json', '{}'));
    await denied(mine.client.makeBucket(`${key.bucket.slice(0, 50)}x`));

    // Writing under scratch/ is the one write the key has.
    await mine.putObject(key.bucket, 'scratch/note.txt', 'hello');
    expect((await mine.getObject(key.bucket, 'scratch/note.txt')).toString()).toBe('hello');

    // Another consumer's cleanroom is out of reach, and vice versa.
    const op = await operator();
    const other = await newConsumer(op);
    const otherRoom = await other.http.call<{ bucket: string; accessKeyId: string; secretAccessKey: string }>('POST', '/v1/cleanrooms', { body: { name: 'other' } });
    await denied(mine.listObjects(otherRoom.bucket));
    await denied(mine.putObject(otherRoom.bucket, 'scratch/x', 'x'));
    const theirs = new ObjectStore({ endpoint: key.endpoint, region: key.region, accessKey: otherRoom.accessKeyId, secretKey: otherRoom.secretAccessKey });
    await denied(theirs.listObjects(key.bucket));
    await denied(theirs.getObject(key.bucket, 'scratch/note.txt'));
  });

  it('records the run on the subscription and lists the published dataset with its price', async () => {
    const op = await operator();
    // A different consumer sees the dataset too (published datasets are the catalogue), but not the subscription.
    const other = await newConsumer(op);
    const { datasets } = await other.http.call<{ datasets: Array<{ name: string; records: number; price: { amount: number } | null; columns: Array<{ name: string }> }> }>('GET', '/v1/datasets');
    const ds = datasets.find((d) => d.name === demo.dataset)!;
    // 60 from the provider's backend, 1 from the user's device, 10 from the CSV.gz over S3.
    expect(ds.records).toBe(71);
    expect(ds.price?.amount).toBe(0.01);
    expect(ds.columns.map((c) => c.name)).toEqual(['tid', 'category', 'amount', 'purchased_at']);
    const r = await other.http.raw('GET', `/v1/subscriptions/${demo.subscriptionId}`);
    expect(r.status).toBe(404);
  });
});
