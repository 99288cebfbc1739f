// A fleet of licensed devices uploading through the public API, for the load test, the crash test and the load
// benchmark: enrol (attestation → register → license → token), upload unique records for a while counting what was
// acknowledged, then count what reached the raw and published tables.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { init, memoryStorage } from '@atoll/client';
import type { Pool } from '@atoll/db';
import { literal } from '@atoll/duck';
import { publishedTableId, rawTableId, type Lake } from '@atoll/lake';
import { AtollHttp, clientToken, readCleanroomTable, waitUntil, type CleanroomKey } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { postText } from './http-post.js';
import { queryTable } from './lake-helpers.js';
import { runs } from './market.js';

export interface FleetProvider {
  id: string;
  http: AtollHttp;
  dataset: string;
}

/** A provider with an approved `events` table (user_id, kind, value) published as its own dataset. */
export async function fleetProvider(opts: { baseUrl: string; env: Record<string, string> }): Promise<FleetProvider> {
  const op = new AtollHttp(opts.baseUrl, await clientToken(opts.env, opts.env.ATOLL_OPERATOR_CLIENT_ID!, opts.env.ATOLL_OPERATOR_CLIENT_SECRET!));
  const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `fleet ${randomUUID().slice(0, 8)}` } });
  const http = new AtollHttp(opts.baseUrl, await clientToken(opts.env, p.clientId, p.clientSecret));
  const dataset = `fleet_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const s = await http.call<{ id: string }>('POST', '/v1/schemas', {
    body: { table: 'events', dataset, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'kind', type: 'string' }, { name: 'value', type: 'long' }] },
  });
  await op.call('POST', `/v1/schemas/${s.id}/approve`);
  return { id: p.id, http, dataset };
}

export interface FleetDevice {
  userId: string;
  deviceId: string;
  tid: string;
  token: string;
  licenseId: string;
}

/** `n` devices, one user each, each holding a license for `events` and an upload token; `parallel` enrol at once. */
export async function enrolFleet(opts: { baseUrl: string; provider: FleetProvider; devices: number; parallel?: number }): Promise<FleetDevice[]> {
  const out: FleetDevice[] = [];
  let next = 0;
  const terms = { sha256: 'f'.repeat(64) };
  await Promise.all(
    Array.from({ length: opts.parallel ?? 8 }, async () => {
      while (next < opts.devices) {
        const i = next++;
        const userId = `fleet-user-${i}-${randomUUID().slice(0, 8)}`;
        const { attestation } = await opts.provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId } });
        // Keys from node:crypto (native) rather than the client's own generator: enrolling hundreds must not take minutes.
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const client = init({
          baseUrl: opts.baseUrl,
          storage: memoryStorage({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
        });
        const device = await client.register(attestation);
        const license = await client.signLicense(
          await client.buildLicense({ tables: ['events'], uses: [{ usecases: ['analytics'], destinations: ['*'] }], terms, expiry: new Date(Date.now() + 86_400_000) }),
        );
        out.push({ userId, deviceId: device.deviceId, tid: device.tid, token: await client.token(['upload']), licenseId: license.id });
      }
    }),
  );
  return out;
}

export interface Acknowledged {
  uploadId: string;
  userId: string;
  /** The `value` of each record of the upload (unique per device). */
  values: number[];
}

export interface FleetRun {
  seconds: number;
  uploads: number;
  records: number;
  acknowledged: Acknowledged[];
  /** Every response other than 202 and every failed request, with what it said. */
  errors: string[];
  p50Ms: number;
  p99Ms: number;
}

/**
 * Every device uploads 1..`maxRecords` records per request, back to back, until `durationMs` has passed (or `stop()`
 * returns true). Each record's `value` is unique per device, so the tables can be checked record for record.
 */
export async function driveFleet(opts: { baseUrl: string; devices: FleetDevice[]; durationMs: number; maxRecords?: number; stop?: () => boolean; onAck?: (a: Acknowledged) => void }): Promise<FleetRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.devices.length + 8 });
  const url = `${opts.baseUrl}/v1/uploads/events`;
  const acknowledged: Acknowledged[] = [];
  const errors: string[] = [];
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const max = opts.maxRecords ?? 3;
  try {
    await Promise.all(
      opts.devices.map(async (d, i) => {
        let seq = 0;
        while (performance.now() < deadline && !opts.stop?.()) {
          const n = 1 + ((seq + i) % max);
          const values = Array.from({ length: n }, () => seq++);
          const body = values.map((v) => JSON.stringify({ kind: `fleet-${i}`, value: v })).join('\n') + '\n';
          const t = performance.now();
          try {
            const r = await postText(agent, url, { authorization: `Bearer ${d.token}`, 'content-type': 'application/x-ndjson' }, body);
            if (r.status !== 202) {
              errors.push(`HTTP ${r.status} ${r.body.slice(0, 200)}`);
              continue;
            }
            latencies.push(performance.now() - t);
            const ack = { uploadId: (JSON.parse(r.body) as { uploadId: string }).uploadId, userId: d.userId, values };
            acknowledged.push(ack);
            opts.onAck?.(ack);
          } catch (e) {
            errors.push(`request failed: ${(e as Error).message}`);
            if (opts.stop?.()) break;
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    seconds: (performance.now() - start) / 1000,
    uploads: acknowledged.length,
    records: acknowledged.reduce((s, a) => s + a.values.length, 0),
    acknowledged,
    errors,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/**
 * Waits until none of `uploadIds` (acknowledged uploads; all of the provider's when omitted) is pending; returns how
 * many of them were rejected, and why (a few).
 */
export async function settleUploads(pool: Pool, providerId: string, timeoutMs: number, uploadIds?: readonly string[]): Promise<{ rejected: number; reasons: string[] }> {
  const scope = uploadIds ? 'id = ANY($2::uuid[])' : 'true';
  const values = uploadIds ? [providerId, uploadIds] : [providerId];
  const count = async (status: string) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM uploads WHERE provider_id = $1 AND ${scope} AND status = '${status}'`, values)).rows[0]!.n);
  await waitUntil('the writer to take every upload', async () => ((await count('pending')) === 0 ? true : null), timeoutMs);
  const { rows } = await pool.query<{ reason: string | null }>(`SELECT reason FROM uploads WHERE provider_id = $1 AND ${scope} AND status = 'rejected' LIMIT 5`, values);
  return { rejected: await count('rejected'), reasons: rows.map((r) => r.reason ?? '') };
}

/** Records per user in the raw table and per TID in the published dataset. */
export async function tableCounts(opts: { lake: Lake; workDir: string; provider: FleetProvider }): Promise<{ raw: Map<string, number>; published: Map<string, number> }> {
  const raw = await queryTable<{ u: string; n: bigint }>(opts.lake, rawTableId(opts.provider.id, 'events'), opts.workDir, 'SELECT user_id AS u, count(*) AS n FROM rows GROUP BY 1');
  const published = (await opts.lake.tryLoad(publishedTableId(opts.provider.dataset)))
    ? await queryTable<{ u: string; n: bigint }>(opts.lake, publishedTableId(opts.provider.dataset), opts.workDir, 'SELECT tid AS u, count(*) AS n FROM rows GROUP BY 1')
    : [];
  return { raw: new Map(raw.map((r) => [r.u, Number(r.n)])), published: new Map(published.map((r) => [r.u, Number(r.n)])) };
}

/** The `value`s of one user's rows in the raw table. */
export async function rawValues(opts: { lake: Lake; workDir: string; provider: FleetProvider; userId: string }): Promise<Set<number>> {
  const rows = await queryTable<{ value: bigint }>(opts.lake, rawTableId(opts.provider.id, 'events'), opts.workDir, `SELECT value FROM rows WHERE user_id = ${literal(opts.userId)}`);
  return new Set(rows.map((r) => Number(r.value)));
}

/** Acknowledged records per user. */
export function acknowledgedPerUser(acks: readonly Acknowledged[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of acks) m.set(a.userId, (m.get(a.userId) ?? 0) + a.values.length);
  return m;
}

export interface BulkFile {
  key: string;
  /** The user and `value` of each row (values unique across the feed and apart from the devices' own). */
  rows: Array<{ userId: string; value: number }>;
}

export interface BulkFeed {
  files: BulkFile[];
  /** Wall time of each acknowledged PUT, ms. */
  latencies: number[];
  errors: string[];
}

/**
 * The provider's backend putting a `rows`-row CSV of the fleet's users into its staging prefix every `everyMs` with
 * its bulk key (S3, straight to MinIO) until `stop()` returns true. A failed PUT is an error, not retried.
 */
export async function feedBulkFiles(opts: { provider: FleetProvider; devices: readonly FleetDevice[]; everyMs: number; rows: number; stop: () => boolean }): Promise<BulkFeed> {
  const c = await opts.provider.http.call<{ endpoint: string; region: string; bucket: string; prefix: string; accessKeyId: string; secretAccessKey: string }>('POST', '/v1/bulk-credentials');
  const store = new ObjectStore({ endpoint: c.endpoint, region: c.region, accessKey: c.accessKeyId, secretKey: c.secretAccessKey });
  const feed: BulkFeed = { files: [], latencies: [], errors: [] };
  const run = randomUUID().slice(0, 8);
  for (let i = 0; !opts.stop(); i++) {
    const tick = performance.now();
    const rows = Array.from({ length: opts.rows }, (_, r) => ({ userId: opts.devices[(i * opts.rows + r) % opts.devices.length]!.userId, value: 1_000_000_000 + i * opts.rows + r }));
    const body = ['user_id,kind,value', ...rows.map((r) => `${r.userId},bulk,${r.value}`)].join('\n') + '\n';
    const key = `${c.prefix}events/load-${run}-${i}.csv`;
    try {
      await store.putObject(c.bucket, key, body, { contentType: 'text/csv' });
      feed.latencies.push(performance.now() - tick);
      feed.files.push({ key, rows });
    } catch (e) {
      feed.errors.push(`bulk PUT ${key}: ${(e as Error).message}`);
    }
    while (performance.now() - tick < opts.everyMs && !opts.stop()) await new Promise((r) => setTimeout(r, 50));
  }
  return feed;
}

/** Waits until the writer has recorded `files` bulk files of the provider (MinIO's notification reached it). */
export async function waitBulkRecorded(pool: Pool, providerId: string, files: number, timeoutMs: number): Promise<number> {
  return waitUntil(
    `the writer to record ${files} bulk files`,
    async () => {
      const n = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM uploads WHERE provider_id = $1 AND source = 'bulk'`, [providerId])).rows[0]!.n);
      return n >= files ? n : null;
    },
    timeoutMs,
  );
}

export interface ConsumerPass {
  /** Wall time per request, ms: each estimate (201), the subscription create (201), each run from request to finished. */
  estimateMs: number[];
  subscribeMs: number[];
  /** The initial load (subscription create → its run finished), then each run asked for with `/run`. */
  initialRunMs: number;
  runMs: number[];
  /** Every refusal, failed or withheld run, or an estimate that counted other than expected. */
  errors: string[];
  /** Rows per `tid` in the cleanroom table, read with the consumer's own key. */
  delivered: Map<string, number>;
}

/**
 * After the uploads: the operator prices the fleet's dataset, an approved consumer with a cleanroom makes `estimates`
 * estimates of the whole dataset, subscribes to the last, and asks for `runs` runs one after the other (each waited
 * until finished); then reads what was delivered. Every device signed its own license (analytics, any destination),
 * so every published row is licensed to this consumer.
 */
export async function buyAndRun(opts: { env: Record<string, string>; provider: FleetProvider; estimates: number; runs: number; expectRecords: number; expectSubjects: number }): Promise<ConsumerPass> {
  const baseUrl = opts.provider.http.baseUrl;
  const op = new AtollHttp(baseUrl, await clientToken(opts.env, opts.env.ATOLL_OPERATOR_CLIENT_ID!, opts.env.ATOLL_OPERATOR_CLIENT_SECRET!));
  await op.call('PUT', `/v1/datasets/${opts.provider.dataset}/price`, { body: { perRecord: { amount: 0.001, currency: 'usd' } } });
  const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `load consumer ${randomUUID().slice(0, 8)}`, useCase: { category: 'analytics', description: 'load benchmark consumer' } } });
  const approved = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
  const consumer = new AtollHttp(baseUrl, await clientToken(opts.env, approved.clientId, approved.clientSecret));
  await waitUntil(`${opts.provider.dataset} to list ${opts.expectRecords} records`, async () => {
    const { datasets } = await consumer.call<{ datasets: Array<{ name: string; records: number }> }>('GET', '/v1/datasets');
    return datasets.find((d) => d.name === opts.provider.dataset && d.records === opts.expectRecords);
  }, 300_000);
  const cleanroom = await consumer.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: `load-${randomUUID().slice(0, 8)}` } });
  const table = 'events_delivered';
  const pass: ConsumerPass = { estimateMs: [], subscribeMs: [], initialRunMs: 0, runMs: [], errors: [], delivered: new Map() };
  let estimateId: string | null = null;
  for (let i = 0; i < opts.estimates; i++) {
    const t = performance.now();
    const r = await consumer.raw('POST', '/v1/estimates', { body: { cleanroomId: cleanroom.id, table, sql: `SELECT tid, kind, value FROM ${opts.provider.dataset}` } });
    const ms = performance.now() - t;
    const e = r.body as { id: string; records: number; distinctSubjects: number };
    if (r.status !== 201) pass.errors.push(`estimate: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    else if (e.records !== opts.expectRecords || e.distinctSubjects !== opts.expectSubjects) pass.errors.push(`estimate counted ${e.records} records of ${e.distinctSubjects} subjects, expected ${opts.expectRecords} of ${opts.expectSubjects}`);
    else {
      pass.estimateMs.push(ms);
      estimateId = e.id;
    }
  }
  if (!estimateId) return pass;
  const finished = async () => (await runs(consumer, subscriptionId)).filter((r) => r.status !== 'running');
  /** Waits for the finished run after `before` finished ones; a failed or withheld run is an error. */
  const awaitRun = async (before: number): Promise<boolean> => {
    const run = await waitUntil('the subscription run to finish', async () => {
      const done = await finished();
      return done.length > before ? done[0]! : null;
    }, 600_000);
    if (run.status !== 'succeeded') pass.errors.push(`run ${run.id}: ${run.status} ${run.reason ?? ''} ${run.error ?? ''}`);
    return run.status === 'succeeded';
  };
  const t = performance.now();
  const s = await consumer.raw('POST', '/v1/subscriptions', { body: { estimateId } });
  pass.subscribeMs.push(performance.now() - t);
  if (s.status !== 201) {
    pass.errors.push(`subscription: HTTP ${s.status} ${JSON.stringify(s.body).slice(0, 200)}`);
    return pass;
  }
  const subscriptionId = (s.body as { id: string }).id;
  await awaitRun(0);
  pass.initialRunMs = performance.now() - t;
  for (let i = 0; i < opts.runs; i++) {
    const before = (await finished()).length;
    const t = performance.now();
    const r = await consumer.raw('POST', `/v1/subscriptions/${subscriptionId}/run`);
    if (r.status >= 300) {
      pass.errors.push(`run now: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      continue;
    }
    if (await awaitRun(before)) pass.runMs.push(performance.now() - t);
  }
  for (const row of await readCleanroomTable(cleanroom, table)) pass.delivered.set(String(row.tid), (pass.delivered.get(String(row.tid)) ?? 0) + 1);
  return pass;
}

/** Rows per user the tables must hold: the devices' acknowledged records plus every bulk file's rows. */
export function expectedPerUser(acks: readonly Acknowledged[], files: readonly BulkFile[]): Map<string, number> {
  const m = acknowledgedPerUser(acks);
  for (const f of files) for (const r of f.rows) m.set(r.userId, (m.get(r.userId) ?? 0) + 1);
  return m;
}
