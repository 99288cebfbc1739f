// Many REST clients append to one table at once over plain HTTP with the Iceberg REST commit protocol (each asserts
// `main` is the snapshot it built on). 8, then 32 concurrent clients: every commit answer is 200 or a clean 409
// CommitFailedException in the spec's error shape (never a 500); after retries the table holds exactly every
// append, its snapshot chain is linear with strictly increasing sequence numbers, and PyIceberg and DuckDB, through
// the same catalog, read the exact row count.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duck, literal } from '@atoll/duck';
import { dataFileFromParquet, duckdbFieldIds, type DataFile, type IcebergSchema } from '@atoll/iceberg';
import { clientToken } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, uniq } from './support/actors.js';
import { INTEROP_DIR, duckCatalogRequest, enginePython, python, rowsOf, runDuckdb } from './support/engines.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { RestTableClient, type CatalogAnswer, type RestAppendResult } from './support/rest-append.js';

const LAKE = env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';
const SCHEMA: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'writer', required: true, type: 'string' },
  ],
};

let api: InProcessApi;
let work: string;
let opToken: string;
let duckPython: string;
let pyicebergPython: string;
const ns = `contend_${uniq()}`;
const results: RestAppendResult[] = [];
const appendedRows: number[] = [];

async function catalog(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/iceberg/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${opToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Writer `w`'s data file of the round: w+1 rows, ids unique across the test, with stats as Iceberg clients write. */
async function dataFiles(round: string, writers: number): Promise<Array<{ bytes: Uint8Array; dataFile: DataFile }>> {
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB' });
  try {
    const out: Array<{ bytes: Uint8Array; dataFile: DataFile }> = [];
    for (let w = 0; w < writers; w++) {
      const path = join(work, `${round}-${w}.parquet`);
      await duck.run(`COPY (SELECT (${w} * 1000 + i)::BIGINT AS id, ${literal(`${round}-${w}`)} AS writer FROM range(${w + 1}) t(i)) TO ${literal(path)} (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(SCHEMA)})`);
      out.push({ bytes: readFileSync(path), dataFile: await dataFileFromParquet(path, { uri: `s3://${LAKE}/placeholder.parquet`, schema: SCHEMA, connection: duck.connection }) });
    }
    return out;
  } finally {
    duck.close();
  }
}

function expectCleanConflicts(answers: CatalogAnswer[]): void {
  for (const a of answers.filter((x) => x.status !== 200)) {
    expect(a.status).toBe(409);
    const error = (a.body as { error: { type: string; code: number; message: unknown } }).error;
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'type']);
    expect([error.type, error.code, typeof error.message]).toEqual(['CommitFailedException', 409, 'string']);
  }
}

beforeAll(async () => {
  duckPython = await enginePython('duckdb');
  pyicebergPython = await enginePython();
  work = mkdtempSync(join(tmpdir(), 'atoll-rest-contention-'));
  api = await startInProcessApi();
  opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  expect((await catalog('POST', '/namespaces', { namespace: [ns] })).status).toBe(200);
  expect((await catalog('POST', `/namespaces/${ns}/tables`, { name: 'appends', schema: SCHEMA })).status).toBe(200);
}, 600_000);

afterAll(async () => {
  if (api) {
    await catalog('DELETE', `/namespaces/${ns}/tables/appends`);
    await catalog('DELETE', `/namespaces/${ns}`);
    const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
    await store.removeObjects(LAKE, (await store.listObjects(LAKE, `${ns}/`)).map((o) => o.key));
  }
  await api?.[Symbol.asyncDispose]();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('concurrent REST commits to one table', () => {
  for (const writers of [8, 32]) {
    it(`${writers} clients append at once: each lands after clean 409s, none is lost or doubled`, async () => {
      const files = await dataFiles(`w${writers}`, writers);
      const round = await Promise.all(
        files.map((file) => new RestTableClient({ catalogUrl: `${api.url}/iceberg`, token: opToken, namespace: ns, table: 'appends' }).append(file, { maxAttempts: writers * 2 })),
      );
      const answers = round.flatMap((r) => r.commits);
      expectCleanConflicts(answers);
      expect(round.every((r) => r.committed)).toBe(true);
      // The clients really raced: some commits lost to another and retried.
      expect(answers.filter((a) => a.status === 409).length).toBeGreaterThan(0);
      results.push(...round);
      appendedRows.push(...files.map((f) => f.dataFile.recordCount));
    }, 300_000);
  }

  it('the table holds exactly every append: a linear snapshot chain, strictly increasing sequence numbers, exact counts in PyIceberg and DuckDB', async () => {
    expect(results).toHaveLength(40);
    const loaded = await fetch(`${api.url}/iceberg/v1/namespaces/${ns}/tables/appends`, { headers: { authorization: `Bearer ${opToken}` } });
    // Snapshot ids are 63-bit: compare them as the decimal text the catalog wrote.
    const text = (await loaded.text()).replace(/"(snapshot-id|parent-snapshot-id|current-snapshot-id)":(-?\d+)/g, '"$1":"$2"');
    const metadata = (JSON.parse(text) as { metadata: { snapshots: Array<{ 'snapshot-id': string; 'parent-snapshot-id'?: string; 'sequence-number': number; summary: Record<string, string> }>; 'current-snapshot-id': string } }).metadata;
    const chain = [...metadata.snapshots].sort((a, b) => a['sequence-number'] - b['sequence-number']);
    expect(chain.map((s) => s['sequence-number'])).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(chain[0]!['parent-snapshot-id']).toBeUndefined();
    for (let i = 1; i < chain.length; i++) expect(chain[i]!['parent-snapshot-id']).toBe(chain[i - 1]!['snapshot-id']);
    expect(metadata['current-snapshot-id']).toBe(chain.at(-1)!['snapshot-id']);
    // Each client's snapshot is in the chain exactly once.
    expect(chain.map((s) => s['snapshot-id']).sort()).toEqual(results.map((r) => r.snapshotId.toString()).sort());

    const total = appendedRows.reduce((a, b) => a + b, 0);
    expect(total).toBe(36 + 528);
    const read = await python<{ rows: Array<{ id: number; writer: string }>; error?: string; message?: string }>(pyicebergPython, [`${INTEROP_DIR}rest_client.py`, `${api.url}/iceberg`, opToken, 'read', `${ns}.appends`], {});
    expect(read.error, read.message).toBeUndefined();
    expect(read.rows).toHaveLength(total);
    expect(new Set(read.rows.map((r) => `${r.writer}:${r.id}`)).size).toBe(total);
    const duck = await runDuckdb(
      duckPython,
      duckCatalogRequest({
        catalogUrl: `${api.url}/iceberg`,
        clientId: env.ATOLL_OPERATOR_CLIENT_ID!,
        clientSecret: env.ATOLL_OPERATOR_CLIENT_SECRET!,
        queries: [`SELECT count(*) AS n, count(DISTINCT writer) AS writers FROM atoll.${ns}.appends`],
      }),
    );
    expect(duck.error, duck.message).toBeUndefined();
    expect(rowsOf(duck.results?.[0])).toEqual([{ n: total, writers: 40 }]);
  }, 180_000);
});
