// Fixtures of the consumer-side tests, all through the public API: provider agreements and delegated licenses,
// uploads waited until loaded and published, subscription runs waited until finished, and the cleanroom files read
// with the consumer's own key.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duck } from '@atoll/duck';
import { waitUntil, type AtollHttp, type CleanroomKey } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';

export const TERMS = { sha256: createHash('sha256').update('delivery test agreement v1').digest('hex'), uri: 'https://provider.example/terms' };
export const inAYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString();

export type Http = AtollHttp;
export interface Provider {
  id: string;
  http: Http;
}

/** Approves the provider's agreement (delegated licenses count once an operator has approved it). */
export async function approveAgreement(op: Http, provider: Provider): Promise<void> {
  const r = await provider.http.raw('POST', '/v1/agreements', { body: { terms: TERMS, title: 'Member data agreement', description: 'Members share purchase data for analytics.' } });
  if (r.status === 404 && (r.body as { error?: { code?: string } }).error?.code === 'ROUTE_NOT_FOUND') return;
  if (r.status !== 201) throw new Error(`agreement: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  await op.call('POST', `/v1/agreements/${(r.body as { id: string }).id}/approve`);
}

export async function delegate(provider: Provider, tids: string[], tables: string[], uses: Array<{ usecases: string[]; destinations: string[] }>, expiry = inAYear()): Promise<Array<{ id: string; tid: string }>> {
  const r = await provider.http.call<{ licenses: Array<{ id: string; tid: string }> }>('POST', '/v1/licenses/delegated', {
    body: { tids, template: { tables, tags: ['purchase_history'], terms: TERMS }, uses, expiry },
  });
  return r.licenses;
}

export async function tidsOf(provider: Provider, userIds: string[]): Promise<Record<string, string>> {
  return (await provider.http.call<{ tids: Record<string, string> }>('POST', '/v1/users/tids', { body: { userIds } })).tids;
}

export async function upload(provider: Provider, table: string, records: Array<Record<string, unknown>>): Promise<void> {
  const { uploadId } = await provider.http.call<{ uploadId: string }>('POST', `/v1/uploads/${table}`, {
    rawBody: records.map((r) => JSON.stringify(r)).join('\n'),
    contentType: 'application/x-ndjson',
  });
  await waitUntil(`upload ${uploadId} to load`, async () => {
    const { ingests } = await provider.http.call<{ ingests: Array<{ id: string; status: string; reason: string | null }> }>('GET', `/v1/ingests?table=${table}`);
    const mine = ingests.find((i) => i.id === uploadId);
    if (mine?.status === 'rejected') throw new Error(`upload rejected: ${mine.reason}`);
    return mine?.status === 'loaded';
  });
}

export async function waitPublished(consumer: Http, dataset: string, records: number): Promise<void> {
  await waitUntil(`${dataset} to hold ${records} records`, async () => {
    const { datasets } = await consumer.call<{ datasets: Array<{ name: string; records: number }> }>('GET', '/v1/datasets');
    return datasets.find((d) => d.name === dataset && d.records === records);
  }, 180_000);
}

export interface RunView {
  id: string;
  status: string;
  recordsAdded: number | null;
  recordsRemoved: number | null;
  reason: string | null;
  error: string | null;
}

export async function runs(consumer: Http, subscriptionId: string): Promise<RunView[]> {
  return (await consumer.call<{ runs: RunView[] }>('GET', `/v1/subscriptions/${subscriptionId}`)).runs;
}

/** Waits for the next finished run after `before` runs existed. */
export async function nextRun(consumer: Http, subscriptionId: string, before: number): Promise<RunView> {
  return waitUntil('the subscription run', async () => {
    const all = await runs(consumer, subscriptionId);
    const done = all.filter((r) => r.status !== 'running');
    if (done.length <= before) return null;
    const latest = done[0]!;
    if (latest.status === 'failed') throw new Error(`run failed: ${latest.error}`);
    return latest;
  }, 180_000);
}

export async function runNow(consumer: Http, subscriptionId: string): Promise<RunView> {
  const before = (await runs(consumer, subscriptionId)).filter((r) => r.status !== 'running').length;
  await consumer.call('POST', `/v1/subscriptions/${subscriptionId}/run`);
  return nextRun(consumer, subscriptionId, before);
}

const keyStore = (k: CleanroomKey) => new ObjectStore({ endpoint: k.endpoint, region: k.region, accessKey: k.accessKeyId, secretKey: k.secretAccessKey });

/** Every tid in every Parquet file of the cleanroom table's folder, listed and read with the consumer's own key. */
export async function tidsInBucketFiles(key: CleanroomKey, table: string): Promise<Set<string>> {
  const store = keyStore(key);
  const dir = await mkdtemp(join(tmpdir(), 'atoll-delivery-'));
  const duck = await Duck.open({ memoryLimit: '256MB', threads: 1 });
  try {
    const out = new Set<string>();
    for (const o of await store.listObjects(key.bucket, `${table}/`)) {
      if (!o.key.endsWith('.parquet')) continue;
      const local = join(dir, o.key.replaceAll('/', '_'));
      await writeFile(local, await store.getObject(key.bucket, o.key));
      for (const r of await duck.all<{ tid: string }>(`SELECT tid FROM read_parquet('${local}')`)) out.add(r.tid);
    }
    return out;
  } finally {
    duck.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function snapshotCount(key: CleanroomKey, table: string): Promise<number> {
  const store = keyStore(key);
  const hint = (await store.getObject(key.bucket, `${table}/metadata/version-hint.text`)).toString().trim();
  const metadata = JSON.parse((await store.getObject(key.bucket, `${table}/metadata/v${hint}.metadata.json`)).toString()) as { snapshots: unknown[] };
  return metadata.snapshots.length;
}


const INTEROP_DIR = join(process.cwd(), 'packages', 'iceberg', 'interop');

/**
 * Runs SQL in stock DuckDB 1.4.4 (Python, with its httpfs/iceberg extensions from the pinned venv) against a cleanroom
 * with the consumer's own static key: how a consumer reads (and time-travels) its table by path.
 */
export async function duckdbWithCleanroomKey(key: CleanroomKey, queries: string[]): Promise<Array<{ rows: Array<Record<string, unknown>> } | { error: string; message: string }>> {
  const { execFileSync, spawn } = await import('node:child_process');
  const python = execFileSync(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs'), 'duckdb'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }).trim();
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const child = spawn(python, [join(INTEROP_DIR, 'duckdb_client.py')], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(
    JSON.stringify({ mode: 'path', s3_endpoint: key.endpoint.replace(/^https?:\/\//, '').replace(/\/+$/, ''), region: key.region, key_id: key.accessKeyId, secret: key.secretAccessKey, queries }),
  );
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  try {
    return (JSON.parse(stdout) as { results: Array<{ rows: Array<Record<string, unknown>> } | { error: string; message: string }> }).results;
  } catch {
    throw new Error(`duckdb_client.py printed no JSON: ${stdout}${stderr}`);
  }
}
