// Evolution and maintenance on real MinIO + PostgreSQL through @atoll/lake with the writer's key: appends, a
// partitioned append, add/rename column, compaction, snapshot expiry and orphan removal, each checked by PyIceberg
// reading the table from S3 (by version hint and by metadata file).
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Duck } from '@atoll/duck';
import {
  CommitConflictError,
  SchemaEvolutionError,
  appendFiles,
  createTable,
  currentSchema,
  dataFileFromParquet,
  defaultSpec,
  duckdbSelectList,
  expireSnapshots,
  icebergSchemaFromColumns,
  loadTable,
  newDataFileUri,
  overwriteFiles,
  planFiles,
  readManifestList,
  removeOrphanFiles,
  updateSchema,
  writePartitionedParquet,
  type DataFile,
  type IcebergSchema,
  type TableIdentifier,
} from '@atoll/iceberg';
import { Lake, compactTable } from '@atoll/lake';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientToken } from '@atoll/stack';
import { startInProcessApi } from './support/inprocess-api.js';
import { lakeFixture, uniqueName, type LakeFixture } from './support/lake-helpers.js';

const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../packages/iceberg/interop/', import.meta.url));
const BUCKET = process.env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';

interface PyRead {
  metadata_location: string;
  schema_id: number;
  fields: Array<{ id: number; name: string; type: string; required: boolean }>;
  arrow_types: Record<string, string>;
  snapshot_count: number;
  operation: string | null;
  files: string[];
  rows: Array<Record<string, unknown>>;
}

let python: string;
let fx: LakeFixture;
let lake: Lake;

async function pyiceberg(location: string, filter?: string): Promise<PyRead> {
  const env = {
    ...process.env,
    ATOLL_PY_S3_ENDPOINT: process.env.ATOLL_S3_ENDPOINT!,
    ATOLL_PY_S3_REGION: process.env.ATOLL_S3_REGION ?? 'us-east-1',
    ATOLL_PY_S3_ACCESS_KEY: process.env.ATOLL_S3_WRITER_ACCESS_KEY!,
    ATOLL_PY_S3_SECRET_KEY: process.env.ATOLL_S3_WRITER_SECRET_KEY!,
  };
  const { stdout } = await run(python, [join(INTEROP_DIR, 'read_table_s3.py'), location, ...(filter ? ['--filter', filter] : [])], { env, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as PyRead;
}

/** PyIceberg through Atoll's REST catalog with vended credentials only (no S3 keys in its environment). */
async function pyicebergRest(table: string): Promise<PyRead> {
  await using api = await startInProcessApi();
  const env = process.env as Record<string, string>;
  const token = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('ATOLL_PY_S3')));
  try {
    const { stdout } = await run(python, [join(INTEROP_DIR, 'rest_client.py'), `${api.url}/iceberg`, token, 'read', table], { env: childEnv, maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout) as PyRead;
  } catch (e) {
    // Never let the bearer token in the command line reach the test output.
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    // The original error's message holds the command line, bearer token included: it is not attached as the cause.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`PyIceberg REST read of ${table} failed: ${(stdout ?? '').slice(-1000)} ${(stderr ?? '').slice(-2000)}`);
  }
}

/** Writes `values` (a SQL VALUES list with the schema's columns) as Parquet per partition and uploads the files. */
async function writeFiles(id: TableIdentifier, columns: string, values: string[]): Promise<DataFile[]> {
  const table = await loadTable({ io: lake.io, catalog: lake.catalog, id });
  const schema = currentSchema(table.metadata);
  const outDir = join(fx.workDir, `w-${Math.random().toString(36).slice(2)}`);
  await mkdir(outDir, { recursive: true });
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(outDir, 'tmp') });
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    const written = await writePartitionedParquet({
      connection: duck.connection,
      select: `SELECT ${duckdbSelectList(schema)} FROM (VALUES ${values.join(', ')}) v(${columns})`,
      schema,
      spec: defaultSpec(table.metadata),
      outputDir: outDir,
    });
    const files: DataFile[] = [];
    for (const w of written) {
      const uri = newDataFileUri(table.metadata);
      files.push(await dataFileFromParquet(w.path, { uri, schema, partition: w.partition, specId: w.specId, connection: duck.connection }));
      const { bucket, key } = parseS3Uri(uri);
      await lake.store.putFile(bucket, key, w.path, { contentType: 'application/vnd.apache.parquet' });
    }
    return files;
  } finally {
    duck.close();
  }
}

async function objectExists(uri: string): Promise<boolean> {
  const { bucket, key } = parseS3Uri(uri);
  return (await lake.store.statObject(bucket, key)) !== null;
}

async function listTable(location: string): Promise<string[]> {
  return (await lake.io.list(`${location}/`)).map((o) => o.uri).sort();
}

/** Every file some snapshot of the current metadata references (manifest lists, manifests, live data files). */
async function referencedFiles(id: TableIdentifier): Promise<string[]> {
  const table = await loadTable({ io: lake.io, catalog: lake.catalog, id });
  const out = new Set<string>([table.metadataLocation]);
  for (const snap of table.metadata.snapshots) {
    out.add(snap['manifest-list']);
    for (const m of await readManifestList(lake.io, snap)) out.add(m.manifestPath);
    for (const f of await planFiles({ io: lake.io, metadata: table.metadata, snapshotId: snap['snapshot-id'] })) out.add(f.filePath);
  }
  return [...out].sort();
}

const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number => Number(a.id) - Number(b.id);

beforeAll(async () => {
  const { stdout } = await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs')], { maxBuffer: 16 * 1024 * 1024 });
  python = stdout.trim();
  fx = await lakeFixture({ poolSize: 8 });
  lake = fx.lake;
}, 600_000);

afterAll(async () => {
  await fx?.[Symbol.asyncDispose]();
});

describe('evolution and maintenance, read back by PyIceberg from MinIO', () => {
  const schema: IcebergSchema = icebergSchemaFromColumns([
    { name: 'id', type: 'long', required: true },
    { name: 'name', type: 'string' },
    { name: 'ts', type: 'timestamp' },
  ]);
  const id: TableIdentifier = { namespace: ['test_maint'], name: uniqueName('events') };
  const location = `s3://${BUCKET}/test-maint/${id.name}`;
  const expected: Array<Record<string, unknown>> = [];
  const firstFiles: DataFile[] = [];

  it('appends, a partitioned append, add + rename column: PyIceberg sees the evolved schema and every row', async () => {
    await createTable({ io: lake.io, catalog: lake.catalog, id, location, schema, partitionSpec: [{ sourceColumn: 'ts', transform: 'day' }] });
    // Three small appends into one day.
    for (let i = 0; i < 3; i++) {
      const rows = [1, 2, 3].map((j) => i * 3 + j);
      const files = await writeFiles(id, 'id, name, ts', rows.map((r) => `(${r}, 'n${r}', TIMESTAMP '2024-01-01 0${i}:00:00')`));
      firstFiles.push(...files);
      await appendFiles({ io: lake.io, catalog: lake.catalog, id, files, commitId: `append-${i}` });
      for (const r of rows) expected.push({ id: r, name: `n${r}`, ts: `2024-01-01T0${i}:00:00` });
    }
    // One append spanning three days: one file per day partition, one snapshot.
    const spread = [10, 11, 12, 13, 14, 15].map((r, k) => ({ r, day: `2024-01-0${1 + (k % 3)}` }));
    const partitioned = await writeFiles(id, 'id, name, ts', spread.map(({ r, day }) => `(${r}, 'n${r}', TIMESTAMP '${day} 12:00:00')`));
    expect(new Set(partitioned.map((f) => f.partition.ts_day)).size).toBe(3);
    await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: partitioned, commitId: 'append-partitioned' });
    for (const { r, day } of spread) expected.push({ id: r, name: `n${r}`, ts: `${day}T12:00:00` });

    await updateSchema({
      io: lake.io,
      catalog: lake.catalog,
      id,
      changes: [
        { op: 'add-column', name: 'country', type: 'string' },
        { op: 'rename-column', from: 'name', to: 'full_name' },
      ],
    });
    const after = await writeFiles(id, 'id, full_name, ts, country', ["(16, 'n16', TIMESTAMP '2024-01-01 05:00:00', 'DE')", "(17, NULL, TIMESTAMP '2024-01-02 05:00:00', 'FR')"]);
    await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: after, commitId: 'append-evolved' });
    const evolved: Array<Record<string, unknown>> = expected.map((e) => ({ id: e.id, full_name: e.name, ts: e.ts, country: null }));
    evolved.push({ id: 16, full_name: 'n16', ts: '2024-01-01T05:00:00', country: 'DE' }, { id: 17, full_name: null, ts: '2024-01-02T05:00:00', country: 'FR' });
    expected.splice(0, expected.length, ...evolved);

    const read = await pyiceberg(location);
    expect(read.metadata_location).toBe((await loadTable({ io: lake.io, catalog: lake.catalog, id })).metadataLocation);
    expect(read.schema_id).toBe(1);
    expect(read.fields).toEqual([
      { id: 1, name: 'id', type: 'long', required: true },
      { id: 2, name: 'full_name', type: 'string', required: false },
      { id: 3, name: 'ts', type: 'timestamp', required: false },
      { id: 4, name: 'country', type: 'string', required: false },
    ]);
    // PyArrow picks string or large_string per batch (a columns missing in old files comes out large); same logical type.
    const arrow = Object.fromEntries(Object.entries(read.arrow_types).map(([k, v]) => [k, v.replace(/^large_string$/, 'string')]));
    expect(arrow).toEqual({ id: 'int64', full_name: 'string', ts: 'timestamp[us]', country: 'string' });
    expect([...read.rows].sort(byId)).toEqual([...expected].sort(byId));
    // Day pruning over old and new files alike.
    const jan3 = await pyiceberg(location, "ts >= '2024-01-03T00:00:00'");
    expect(jan3.files).toHaveLength(1);
    expect(jan3.rows.map((r) => r.id).sort()).toEqual([12, 15]);
  }, 240_000);

  it('a narrowing change is refused and nothing is written', async () => {
    const before = await loadTable({ io: lake.io, catalog: lake.catalog, id });
    const objects = await listTable(location);
    await expect(updateSchema({ io: lake.io, catalog: lake.catalog, id, changes: [{ op: 'widen-column', name: 'id', type: 'int' }] })).rejects.toBeInstanceOf(SchemaEvolutionError);
    expect((await loadTable({ io: lake.io, catalog: lake.catalog, id })).metadataLocation).toBe(before.metadataLocation);
    expect(await listTable(location)).toEqual(objects);
  });

  it('compaction then snapshot expiry: fewer files, same rows, replaced files deleted, PyIceberg reads it all', async () => {
    const before = await planFiles({ io: lake.io, metadata: (await loadTable({ io: lake.io, catalog: lake.catalog, id })).metadata });
    const res = await compactTable({ lake, id, minInputFiles: 2, workDir: join(fx.workDir, 'compact'), memoryLimit: '256MB' });
    // 2024-01-01: 3 appends + partitioned + evolved = 5 files; 2024-01-02: partitioned + evolved = 2; 2024-01-03: 1.
    expect(res).toMatchObject({ rewrittenFiles: 7, addedFiles: 2 });
    expect(res.snapshotId).not.toBeNull();
    const compacted = await loadTable({ io: lake.io, catalog: lake.catalog, id });
    const after = await planFiles({ io: lake.io, metadata: compacted.metadata });
    expect(before).toHaveLength(8);
    expect(after).toHaveLength(3);
    expect(after.reduce((n, f) => n + f.recordCount, 0)).toBe(expected.length);
    const readCompacted = await pyiceberg(location);
    expect(readCompacted.operation).toBe('replace');
    expect(readCompacted.files).toEqual(after.map((f) => f.filePath).sort());
    expect([...readCompacted.rows].sort(byId)).toEqual([...expected].sort(byId));

    const exp = await expireSnapshots({ io: lake.io, catalog: lake.catalog, id, retainLast: 1 });
    expect(exp.expiredSnapshotIds).toHaveLength(compacted.metadata.snapshots.length - 1);
    for (const f of firstFiles) {
      expect(exp.deletedFiles).toContain(f.filePath);
      expect(await objectExists(f.filePath)).toBe(false);
    }
    for (const f of after) expect(await objectExists(f.filePath)).toBe(true);
    for (const f of await referencedFiles(id)) expect(await objectExists(f)).toBe(true);
    const expired = await loadTable({ io: lake.io, catalog: lake.catalog, id });
    const byHint = await pyiceberg(location);
    const byFile = await pyiceberg(expired.metadataLocation);
    const byRest = await pyicebergRest(`${id.namespace.join('.')}.${id.name}`);
    expect(byRest.metadata_location).toBe(expired.metadataLocation);
    for (const read of [byHint, byFile, byRest]) {
      expect(read.snapshot_count).toBe(1);
      expect(read.fields.map((f) => f.name)).toEqual(['id', 'full_name', 'ts', 'country']);
      expect([...read.rows].sort(byId)).toEqual([...expected].sort(byId));
    }
  }, 240_000);

  it('orphan removal deletes a planted orphan, keeps every referenced file, the table stays readable', async () => {
    const orphan = `${location}/data/orphan-${Math.random().toString(36).slice(2)}.parquet`;
    const { bucket, key } = parseS3Uri(orphan);
    await lake.store.putObject(bucket, key, Buffer.from('not referenced'));
    // A young orphan (could be an in-flight write) is protected by olderThanMs.
    const young = await removeOrphanFiles({ io: lake.io, catalog: lake.catalog, id, olderThanMs: 3_600_000 });
    expect(young.orphans).toEqual([]);
    expect(await objectExists(orphan)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100)); // S3 lastModified has second resolution
    const referenced = await referencedFiles(id);
    const res = await removeOrphanFiles({ io: lake.io, catalog: lake.catalog, id, olderThanMs: 0 });
    expect(res.deleted).toContain(orphan);
    for (const d of res.deleted) expect(referenced).not.toContain(d);
    expect(await objectExists(orphan)).toBe(false);
    for (const f of referenced) expect(await objectExists(f)).toBe(true);
    const read = await pyiceberg(location);
    expect([...read.rows].sort(byId)).toEqual([...expected].sort(byId));
  }, 240_000);
});

describe('compaction of many small appends', () => {
  it('50 small appends (and appends racing the compaction) → fewer files, exactly the same rows', async () => {
    const schema = icebergSchemaFromColumns([
      { name: 'id', type: 'long', required: true },
      { name: 'v', type: 'string' },
    ]);
    const id: TableIdentifier = { namespace: ['test_maint'], name: uniqueName('small') };
    const location = `s3://${BUCKET}/test-maint/${id.name}`;
    await createTable({ io: lake.io, catalog: lake.catalog, id, location, schema });
    const files = await Promise.all(Array.from({ length: 50 }, (_, i) => writeFiles(id, 'id, v', [`(${2 * i}, 'v${2 * i}')`, `(${2 * i + 1}, 'v${2 * i + 1}')`])));
    for (const [i, f] of files.entries()) await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: f, commitId: `small-${i}` });
    const racing = await Promise.all(Array.from({ length: 3 }, (_, i) => writeFiles(id, 'id, v', [`(${1000 + i}, 'late${i}')`])));
    const [res] = await Promise.all([
      compactTable({ lake, id, workDir: join(fx.workDir, 'compact-small'), memoryLimit: '256MB' }),
      (async () => {
        for (const [i, f] of racing.entries()) await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: f, commitId: `late-${i}` });
      })(),
    ]);
    expect(res.rewrittenFiles).toBeGreaterThanOrEqual(50);
    expect(res.addedFiles).toBe(1);
    const live = await planFiles({ io: lake.io, metadata: (await loadTable({ io: lake.io, catalog: lake.catalog, id })).metadata });
    expect(live.length).toBeLessThanOrEqual(1 + racing.length);
    const read = await pyiceberg(location);
    const want = [
      ...Array.from({ length: 100 }, (_, i) => ({ id: i, v: `v${i}` })),
      ...racing.map((_, i) => ({ id: 1000 + i, v: `late${i}` })),
    ];
    expect([...read.rows].sort(byId)).toEqual(want);
    expect(read.operation === 'replace' || read.operation === 'append').toBe(true);
  }, 240_000);
});

/** A real Lake that runs `hook` once, after compaction planned its inputs and before it rewrites them. */
class HookedLake extends Lake {
  hook: (() => Promise<void>) | undefined;
  override async localCopies(files: Parameters<Lake['localCopies']>[0]): Promise<string[]> {
    const hook = this.hook;
    this.hook = undefined;
    if (hook) await hook();
    return super.localCopies(files);
  }
}

function hookedLake(): HookedLake {
  const env = process.env;
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  return new HookedLake(store, fx.pool, join(fx.workDir, 'hooked-cache'));
}

describe('compaction racing other commits (deterministic interleaving)', () => {
  const schema = icebergSchemaFromColumns([
    { name: 'id', type: 'long', required: true },
    { name: 'v', type: 'string' },
  ]);

  async function smallTable(): Promise<{ id: TableIdentifier; location: string; files: DataFile[] }> {
    const id: TableIdentifier = { namespace: ['test_maint'], name: uniqueName('race') };
    const location = `s3://${BUCKET}/test-maint/${id.name}`;
    await createTable({ io: lake.io, catalog: lake.catalog, id, location, schema });
    const files: DataFile[] = [];
    for (let i = 0; i < 6; i++) {
      const f = await writeFiles(id, 'id, v', [`(${i}, 'v${i}')`]);
      await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: f });
      files.push(...f);
    }
    return { id, location, files };
  }

  it('an append that lands while compaction rewrites is kept (the commit retries on the new base)', async () => {
    const t = await smallTable();
    const hooked = hookedLake();
    const late = await writeFiles(t.id, 'id, v', ["(100, 'late')"]);
    hooked.hook = async () => {
      await appendFiles({ io: lake.io, catalog: lake.catalog, id: t.id, files: late });
    };
    const res = await compactTable({ lake: hooked, id: t.id, minInputFiles: 2, workDir: join(fx.workDir, 'race-1'), memoryLimit: '256MB' });
    expect(res).toMatchObject({ rewrittenFiles: 6, addedFiles: 1 });
    const table = await loadTable({ io: lake.io, catalog: lake.catalog, id: t.id });
    const live = (await planFiles({ io: lake.io, metadata: table.metadata })).map((f) => f.filePath);
    expect(live).toHaveLength(2);
    expect(live).toContain(late[0]!.filePath);
    const read = await pyiceberg(t.location);
    expect(read.operation).toBe('replace');
    expect(read.rows.sort(byId)).toEqual([...[0, 1, 2, 3, 4, 5].map((i) => ({ id: i, v: `v${i}` })), { id: 100, v: 'late' }]);
  }, 120_000);

  it('an input file deleted meanwhile makes compaction fail with CommitConflictError; its new file is removed', async () => {
    const t = await smallTable();
    const hooked = hookedLake();
    hooked.hook = async () => {
      // The cleaning stage removes row 0's file (copy-on-write delete) while compaction works on it.
      await overwriteFiles({ io: lake.io, catalog: lake.catalog, id: t.id, deleteFiles: [t.files[0]!.filePath], addFiles: [] });
    };
    const objectsBefore = await listTable(t.location);
    await expect(compactTable({ lake: hooked, id: t.id, minInputFiles: 2, workDir: join(fx.workDir, 'race-2'), memoryLimit: '256MB' })).rejects.toBeInstanceOf(CommitConflictError);
    const table = await loadTable({ io: lake.io, catalog: lake.catalog, id: t.id });
    expect(table.metadata.snapshots.at(-1)?.summary.operation).toBe('delete');
    const dataObjects = (await listTable(t.location)).filter((u) => u.includes('/data/'));
    expect(dataObjects).toEqual(objectsBefore.filter((u) => u.includes('/data/')));
    const read = await pyiceberg(t.location);
    expect(read.rows.sort(byId)).toEqual([1, 2, 3, 4, 5].map((i) => ({ id: i, v: `v${i}` })));
  }, 120_000);
});
