// The demo flow of `npm start` (SPEC §7, walking-skeleton form): provider → schema → upload → published dataset →
// consumer → cleanroom → estimate → subscription → rows read back from the cleanroom with the consumer's own key.
import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ObjectStore } from '@atoll/storage';
import { init as initDevice, memoryStorage } from '@atoll/client';
import { AtollHttp, clientToken, readCleanroomTable, waitUntil, type CleanroomKey } from './client.js';
import { paths } from './paths.js';
import { readStackEnvFile } from './stack.js';

export interface DemoResult {
  providerId: string;
  consumerId: string;
  dataset: string;
  cleanroom: CleanroomKey & { id: string };
  subscriptionId: string;
  table: string;
  rows: Record<string, unknown>[];
  /** The pseudonym the API gave the demo device of `deviceUserId` at registration. */
  deviceTid: string;
  deviceUserId: string;
}

const categories = ['groceries', 'electronics', 'travel', 'books'];

/** The provider's nightly export, put over S3 as a CSV.gz with its bulk key: one more purchase for ten users. */
export function demoBulkRecords(): Array<Record<string, unknown>> {
  return Array.from({ length: 10 }, (_, i) => ({
    user_id: `user-${String(i * 3).padStart(3, '0')}`,
    email: `user${i * 3}@example.com`,
    category: 'garden',
    amount: Math.round((18 + i * 1.5) * 100) / 100,
    purchased_at: new Date(Date.UTC(2026, 10, 25, 8, i)).toISOString(),
  }));
}

function csv(records: Array<Record<string, unknown>>): string {
  const columns = Object.keys(records[0]!);
  return [columns.join(','), ...records.map((r) => columns.map((c) => String(r[c])).join(','))].join('\n') + '\n';
}

/** 30 users, two purchases each; deterministic so the demo prints the same shape every time. */
export function demoRecords(count = 60): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    user_id: `user-${String(i % 30).padStart(3, '0')}`,
    email: `user${i % 30}@example.com`,
    category: categories[i % categories.length],
    amount: Math.round((5 + ((i * 37) % 100)) * 100) / 100,
    purchased_at: new Date(Date.UTC(2026, 10, 1 + (i % 20), 12, i % 60)).toISOString(),
  }));
}

export async function runDemo(opts: { out: (line: string) => void; env?: Record<string, string>; suffix?: string }): Promise<DemoResult> {
  const env = opts.env ?? readStackEnvFile(paths.envFile);
  const say = opts.out;
  const suffix = opts.suffix ?? randomUUID().slice(0, 8);
  const api = new AtollHttp(env.ATOLL_API_URL!);
  const operator = api.withToken(await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!));

  const provider = await operator.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `Demo Shop ${suffix}` } });
  say(`provider created: ${provider.id}`);
  const prov = api.withToken(await clientToken(env, provider.clientId, provider.clientSecret));
  const dataset = `purchases_${suffix.replaceAll('-', '_')}`;
  const schema = await prov.call<{ id: string }>('POST', '/v1/schemas', {
    body: {
      table: 'purchases',
      dataset,
      columns: [
        { name: 'user_id', type: 'string', role: 'user_id' },
        { name: 'email', type: 'string', role: 'identity' },
        { name: 'category', type: 'string' },
        { name: 'amount', type: 'decimal(10,2)' },
        { name: 'purchased_at', type: 'timestamp', role: 'event_time' },
      ],
    },
  });
  await operator.call('POST', `/v1/schemas/${schema.id}/approve`);
  await operator.call('PUT', `/v1/datasets/${dataset}/price`, { body: { perRecord: { amount: 0.01, currency: 'usd' } } });
  say(`schema approved: dataset ${dataset} at $0.01 per record`);

  // A user's device: the provider's backend vouches for the user, the device registers its own key, signs a license
  // and uploads a record of its own (the server fills the user id from the token).
  const deviceUserId = 'user-001';
  const { attestation } = await prov.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId: deviceUserId } });
  const device = initDevice({ baseUrl: env.ATOLL_API_URL!, storage: memoryStorage() });
  await device.createKeys();
  const { tid: deviceTid } = await device.register(attestation);
  const license = await device.signLicense(
    await device.buildLicense({
      tables: ['purchases'],
      tags: ['purchase_history'],
      uses: [{ usecases: ['analytics'], destinations: ['*'] }],
      terms: { sha256: createHash('sha256').update('Demo Shop data license v1').digest('hex') },
      expiry: new Date(Date.now() + 365 * 86_400_000),
    }),
  );
  say(`device registered for ${deviceUserId} (tid ${deviceTid}); license ${license.id} countersigned, log index ${license.log.index}`);
  const deviceUpload = await device.upload('purchases', [{ email: null, category: 'books', amount: 12.5, purchased_at: '2026-11-21T09:00:00Z' }]);

  // The other users signed the provider's own data agreement (delegated licenses): the provider countersigns one
  // license per user under it. Rows of users without a live license would never reach a consumer.
  const records = demoRecords();
  const otherUsers = [...new Set(records.map((r) => String(r.user_id)))].filter((u) => u !== deviceUserId);
  const { tids } = await prov.call<{ tids: Record<string, string> }>('POST', '/v1/users/tids', { body: { userIds: otherUsers } });
  const agreement = { sha256: createHash('sha256').update('Demo Shop member data agreement v1').digest('hex'), uri: 'https://shop.example/terms/data-v1' };
  // Delegated licenses count once an operator has approved the agreement they stand for (legal review).
  const submitted = await prov.call<{ id: string }>('POST', '/v1/agreements', {
    body: { terms: agreement, title: 'Demo Shop member data agreement', description: 'Members share their purchase history for market analytics.' },
  });
  await operator.call('POST', `/v1/agreements/${submitted.id}/approve`);
  const delegated = await prov.call<{ licenses: unknown[] }>('POST', '/v1/licenses/delegated', {
    body: {
      tids: Object.values(tids),
      template: { tables: ['purchases'], tags: ['purchase_history'], terms: agreement },
      uses: [{ usecases: ['analytics'], destinations: ['*'] }],
      expiry: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    },
  });
  say(`${delegated.licenses.length} more users licensed their purchases under the provider's agreement`);

  const upload = await prov.call<{ uploadId: string; records: number }>('POST', '/v1/uploads/purchases', {
    rawBody: records.map((r) => JSON.stringify(r)).join('\n'),
    contentType: 'application/x-ndjson',
  });
  say(`uploaded ${upload.records} records from the provider's backend and ${deviceUpload.records} from the device`);

  // The bulk path (SPEC §4): a key that reaches only this provider's staging prefix, any S3 client, a CSV.gz.
  const bulk = await prov.call<{ endpoint: string; region: string; bucket: string; prefix: string; accessKeyId: string; secretAccessKey: string }>('POST', '/v1/bulk-credentials');
  const s3 = new ObjectStore({ endpoint: bulk.endpoint, region: bulk.region, accessKey: bulk.accessKeyId, secretKey: bulk.secretAccessKey });
  const bulkFile = `purchases/export-${suffix}.csv.gz`;
  await s3.putObject(bulk.bucket, `${bulk.prefix}${bulkFile}`, gzipSync(csv(demoBulkRecords())));
  say(`put s3://${bulk.bucket}/${bulk.prefix}${bulkFile} (${demoBulkRecords().length} records) with the provider's bulk key ${bulk.accessKeyId}`);
  await waitUntil('the bulk file to load', async () => {
    const { ingests } = await prov.call<{ ingests: Array<{ status: string; reason: string | null; file: string | null }> }>('GET', '/v1/ingests?table=purchases');
    const mine = ingests.find((i) => i.file === bulkFile);
    if (mine?.status === 'rejected') throw new Error(`bulk file rejected: ${mine.reason}`);
    return mine?.status === 'loaded';
  });
  for (const id of [upload.uploadId, deviceUpload.uploadId]) {
    await waitUntil('the uploads to load', async () => {
      const { ingests } = await prov.call<{ ingests: Array<{ id: string; status: string; reason: string | null }> }>('GET', '/v1/ingests?table=purchases');
      const mine = ingests.find((i) => i.id === id);
      if (mine?.status === 'rejected') throw new Error(`upload rejected: ${mine.reason}`);
      return mine?.status === 'loaded';
    });
  }

  const consumer = await operator.call<{ id: string }>('POST', '/v1/consumers', {
    body: { name: `Demo Analytics ${suffix}`, useCase: { category: 'analytics', description: 'Category spend trends for market research' } },
  });
  const approved = await operator.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${consumer.id}/approve`);
  const cons = api.withToken(await clientToken(env, approved.clientId, approved.clientSecret));
  say(`consumer approved: ${consumer.id}`);
  await waitUntil('the dataset to be published', async () => {
    const { datasets } = await cons.call<{ datasets: Array<{ name: string; records: number }> }>('GET', '/v1/datasets');
    return datasets.find((d) => d.name === dataset && d.records === records.length + deviceUpload.records + demoBulkRecords().length);
  });
  say(`dataset ${dataset} is published`);

  const cleanroom = await cons.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: 'demo' } });
  say(`cleanroom ${cleanroom.id}: bucket ${cleanroom.bucket}, key ${cleanroom.accessKeyId}`);
  const table = 'big_purchases';
  const estimate = await cons.call<{ id: string; records: number; distinctSubjects: number; price: { initial: number; currency: string } }>('POST', '/v1/estimates', {
    body: { cleanroomId: cleanroom.id, table, sql: `SELECT tid, category, amount, purchased_at FROM ${dataset} WHERE amount > 20` },
  });
  say(`estimate: ${estimate.records} records from ${estimate.distinctSubjects} subjects, initial price ${estimate.price.initial} ${estimate.price.currency}`);
  const subscription = await cons.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: estimate.id } });
  await waitUntil('the initial subscription run', async () => {
    const s = await cons.call<{ runs: Array<{ status: string; error: string | null }> }>('GET', `/v1/subscriptions/${subscription.id}`);
    const failed = s.runs.find((r) => r.status === 'failed');
    if (failed) throw new Error(`run failed: ${failed.error}`);
    return s.runs.some((r) => r.status === 'succeeded');
  });
  // Every record the run added is charged once (the usage ledger is written with the run).
  const month = new Date().toISOString().slice(0, 7);
  const usage = await cons.call<{ subscriptions?: Array<{ subscriptionId: string; records: number; amount: string; currency: string }> }>('GET', `/v1/billing/usage?month=${month}`);
  const charged = usage.subscriptions?.find((u) => u.subscriptionId === subscription.id);
  say(`billed for ${month}: ${charged?.records ?? 0} records, ${charged?.amount ?? '0'} ${charged?.currency ?? estimate.price.currency}`);
  const rows = await readCleanroomTable(cleanroom, table);
  say(`\nrows read from s3://${cleanroom.bucket}/${table} with the consumer's own key (${rows.length}):`);
  const show = rows.slice(0, 10);
  for (const r of show) say(`  ${JSON.stringify(r)}`);
  if (rows.length > show.length) say(`  … ${rows.length - show.length} more`);
  return { providerId: provider.id, consumerId: consumer.id, dataset, cleanroom, subscriptionId: subscription.id, table, rows, deviceTid, deviceUserId };
}
