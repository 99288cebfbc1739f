// Stock Spark 4.0 + Iceberg 1.10 against Atoll's REST catalog (/iceberg) with vended credentials, as docs/engines.md
// attaches it: Spark creates a namespace and a partitioned table, appends, adds a column and reads back exact rows;
// it reads a table Atoll's writer made; Atoll (its own reader) and PyIceberg read what Spark wrote; a drop with
// purge (Iceberg's REST client asking the catalog) removes the table's files from MinIO.
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPool, type Pool } from '@atoll/db';
import { loadTable, planFiles, type TableIdentifier } from '@atoll/iceberg';
import { Lake, loadFileIntoTable, type SchemaColumn } from '@atoll/lake';
import { clientToken } from '@atoll/stack';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, uniq } from './support/actors.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';

const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../packages/iceberg/interop/', import.meta.url));
const lakeBucket = (): string => env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';

let api: InProcessApi;
let pool: Pool;
let work: string;
let opToken: string;
let sparkPython: string;
let sparkJars: string;
let pyicebergPython: string;
let writerLake: Lake;

beforeAll(async () => {
  // First run installs PySpark into the venv cache and the Iceberg jars into the jar cache; later runs find them.
  const [spark, jars, pyiceberg] = await Promise.all([
    run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs'), 'spark'], { maxBuffer: 16 * 1024 * 1024 }),
    run(process.execPath, [join(INTEROP_DIR, 'ensure-spark-jars.mjs')], { maxBuffer: 16 * 1024 * 1024 }),
    run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs')], { maxBuffer: 16 * 1024 * 1024 }),
  ]);
  sparkPython = spark.stdout.trim();
  sparkJars = jars.stdout.trim();
  pyicebergPython = pyiceberg.stdout.trim();
  work = mkdtempSync(join(tmpdir(), 'atoll-engines-spark-'));
  api = await startInProcessApi();
  pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'engines-spark-test' });
  opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  const writerStore = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  writerLake = new Lake(writerStore, pool, join(work, 'cache'));
}, 900_000);

afterAll(async () => {
  await api?.[Symbol.asyncDispose]();
  await pool?.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Spark as a child process speaking JSON lines: the first after phase 1, the second after the purge. */
function startSpark(args: string[]): { next(): Promise<Record<string, unknown>>; proceed(): void; done: Promise<number> } {
  // No S3 keys in Spark's environment: every byte it reads or writes goes through vended credentials.
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const child = spawn(sparkPython, [join(INTEROP_DIR, 'spark_client.py'), ...args], { env: { ...childEnv, PYSPARK_PYTHON: sparkPython }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return {
    async next() {
      const line: IteratorResult<string> = await lines.next();
      if (line.done) throw new Error(`Spark exited without an answer; stderr:\n${stderr}`);
      const parsed = JSON.parse(line.value) as Record<string, unknown> & { error?: string; message?: string; trace?: string };
      if (parsed.error) throw new Error(`Spark failed: ${parsed.error}: ${parsed.message ?? ''}\n${parsed.trace ?? ''}`);
      return parsed;
    },
    proceed: () => child.stdin.write('\n'),
    done,
  };
}

describe('Spark through the REST catalog', () => {
  const ns = `spark_${uniq()}`;
  const atollNs = `spark_src_${uniq()}`;
  const atollId: TableIdentifier = { namespace: [atollNs], name: 'ledger' };
  const COLUMNS: SchemaColumn[] = [
    { name: 'user_id', type: 'string', role: 'user_id' },
    { name: 'kind', type: 'string' },
    { name: 'value', type: 'long' },
  ];
  const atollRows = [
    { user_id: 'a1', kind: 'atoll', value: 7 },
    { user_id: 'a2', kind: 'atoll', value: 8 },
  ];

  beforeAll(async () => {
    const res = await fetch(`${api.url}/iceberg/v1/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: [atollNs] }),
    });
    expect(res.status).toBe(200);
    const input = join(work, 'ledger.ndjson');
    writeFileSync(input, atollRows.map((r) => JSON.stringify(r)).join('\n'));
    await loadFileIntoTable({ lake: writerLake, id: atollId, location: `s3://${lakeBucket()}/${atollNs}/ledger`, columns: COLUMNS, input, format: 'ndjson', workDir: work, memoryLimit: '256MB', commitId: uniq() });
  }, 120_000);

  afterAll(async () => {
    await fetch(`${api.url}/iceberg/v1/namespaces/${atollNs}/tables/ledger`, { method: 'DELETE', headers: { authorization: `Bearer ${opToken}` } });
    await fetch(`${api.url}/iceberg/v1/namespaces/${atollNs}`, { method: 'DELETE', headers: { authorization: `Bearer ${opToken}` } });
    const objects = await writerLake.store.listObjects(lakeBucket(), `${atollNs}/`);
    await writerLake.store.removeObjects(lakeBucket(), objects.map((o) => o.key));
  }, 60_000);

  it('creates, appends, evolves, reads; Atoll and PyIceberg read what it wrote; a purge drop removes the files', async () => {
    const spark = startSpark([`${api.url}/iceberg`, opToken, sparkJars, ns, `${atollNs}.ledger`]);
    try {
      const phase1 = (await spark.next()) as { rows: unknown[]; partitions: string[]; tables: string[]; atoll_rows: Array<{ value: number }>; ctas_rows: unknown[]; location: string };
      const expected = [
        { id: 1, country: 'fr', amount: 1.5, note: null },
        { id: 2, country: 'fr', amount: 2.5, note: null },
        { id: 3, country: 'nz', amount: 3.0, note: null },
        { id: 4, country: 'nz', amount: 4.25, note: 'after add column' },
        { id: 5, country: 'de', amount: null, note: 'second' },
      ];
      expect(phase1.rows).toEqual(expected);
      expect(phase1.partitions).toEqual(['de', 'fr', 'nz']);
      expect(phase1.tables).toEqual(['spark_events']);
      // CREATE TABLE … AS SELECT: a staged create and the commit that creates the table with its first snapshot.
      expect(phase1.ctas_rows).toEqual([{ id: 3, country: 'nz' }, { id: 4, country: 'nz' }]);
      expect(phase1.atoll_rows.sort((a, b) => a.value - b.value)).toEqual(atollRows);
      expect(phase1.location).toBe(`s3://${lakeBucket()}/${ns}/spark_events`);

      // Atoll's own reader decodes Spark's manifests: one data file per partition and append, exact record counts.
      const id: TableIdentifier = { namespace: [ns], name: 'spark_events' };
      const table = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id });
      expect(table.metadata.snapshots).toHaveLength(2);
      expect(table.metadata['current-schema-id']).toBe(1);
      const files = await planFiles({ io: writerLake.io, metadata: table.metadata });
      const perCountry: Record<string, number> = {};
      for (const f of files) perCountry[String(f.partition.country)] = (perCountry[String(f.partition.country)] ?? 0) + f.recordCount;
      expect(perCountry).toEqual({ fr: 2, nz: 2, de: 1 });

      // PyIceberg through the same catalog reads the same rows, the added column included.
      const { stdout } = await run(pyicebergPython, [join(INTEROP_DIR, 'rest_client.py'), `${api.url}/iceberg`, opToken, 'read', `${ns}.spark_events`], { maxBuffer: 16 * 1024 * 1024 });
      const py = JSON.parse(stdout) as { rows: Array<{ id: number }> };
      expect(py.rows.sort((a, b) => a.id - b.id)).toEqual(expected);

      const { key } = parseS3Uri(phase1.location);
      expect((await writerLake.store.listObjects(lakeBucket(), `${key}/`)).length).toBeGreaterThan(0);
      spark.proceed();
      const phase2 = (await spark.next()) as { dropped: boolean; namespace_gone: boolean };
      expect(phase2).toEqual({ phase: 2, dropped: true, namespace_gone: true });
      expect(await spark.done).toBe(0);
      // The writer purges a few seconds after the drop, once commits in flight have settled.
      const deadline = Date.now() + 60_000;
      let left = await writerLake.store.listObjects(lakeBucket(), `${key}/`);
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        left = await writerLake.store.listObjects(lakeBucket(), `${key}/`);
      }
      expect(left.map((o) => o.key)).toEqual([]);
    } finally {
      spark.proceed();
    }
  }, 240_000);
});
