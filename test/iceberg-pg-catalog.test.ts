// PgCatalogStore against a real PostgreSQL: the catalog-store contract (shared with MemoryCatalogStore) and 16
// concurrent appends to one table that must all land exactly once.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  MemoryCatalogStore,
  PgCatalogStore,
  PgViewCatalogStore,
  TableAlreadyExistsError,
  LocalFileIO,
  ancestors,
  appendFiles,
  createTable,
  currentSnapshot,
  fileUri,
  icebergSchemaFromColumns,
  loadTable,
  planFiles,
} from '@atoll/iceberg';
import type { CatalogStore, DataFile, TableIdentifier } from '@atoll/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let pool: pg.Pool;

beforeAll(async () => {
  const url = process.env.ATOLL_DATABASE_URL;
  if (!url) throw new Error('ATOLL_DATABASE_URL is not set; the integration global setup provides it');
  pool = new pg.Pool({ connectionString: url, max: 16 });
  // The real migration lives in @atoll/db; this is the same table, created only if a fresh database lacks it.
  await pool.query(`CREATE TABLE IF NOT EXISTS iceberg_tables (
    namespace text NOT NULL,
    name text NOT NULL,
    metadata_location text NOT NULL,
    previous_metadata_location text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name)
  )`);
});

afterAll(async () => {
  await pool?.end();
});

const stores: Array<[string, () => CatalogStore]> = [
  ['MemoryCatalogStore', () => new MemoryCatalogStore()],
  ['PgCatalogStore', () => new PgCatalogStore(pool)],
];

describe.each(stores)('%s contract', (_name, makeStore) => {
  const ns = (): string[] => ['it', `ns_${randomUUID().replace(/-/g, '')}`];

  it('create, load, list, drop', async () => {
    const store = makeStore();
    const namespace = ns();
    const a: TableIdentifier = { namespace, name: 'a' };
    const b: TableIdentifier = { namespace, name: 'b' };
    expect(await store.load(a)).toBeNull();
    await store.create(b, 's3://x/b/metadata/v1.metadata.json');
    await store.create(a, 's3://x/a/metadata/v1.metadata.json');
    await expect(store.create(a, 's3://x/other')).rejects.toThrow(TableAlreadyExistsError);
    expect(await store.load(a)).toEqual({ metadataLocation: 's3://x/a/metadata/v1.metadata.json' });
    expect(await store.list(namespace)).toEqual([a, b]);
    expect(await store.list([namespace[0]!])).toEqual([]);
    expect(await store.drop(a)).toBe(true);
    expect(await store.drop(a)).toBe(false);
    expect(await store.load(a)).toBeNull();
    await store.drop(b);
  });

  it('compare-and-swap succeeds only from the expected location', async () => {
    const store = makeStore();
    const id: TableIdentifier = { namespace: ns(), name: 't' };
    await store.create(id, 'v1');
    expect(await store.compareAndSwap(id, 'v0', 'v2')).toBe(false);
    expect(await store.compareAndSwap(id, 'v1', 'v2')).toBe(true);
    expect(await store.compareAndSwap(id, 'v1', 'v3')).toBe(false);
    expect(await store.load(id)).toEqual({ metadataLocation: 'v2' });
    expect(await store.compareAndSwap({ namespace: id.namespace, name: 'missing' }, 'v1', 'v2')).toBe(false);
    // Of many simultaneous swaps from the same base exactly one wins.
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => store.compareAndSwap(id, 'v2', `w${i}`)));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    await store.drop(id);
  });

  it('rejects namespace levels that would be ambiguous once joined with "."', async () => {
    const store = makeStore();
    await expect(store.load({ namespace: ['a.b'], name: 't' })).rejects.toThrow(/without "\."/);
    await expect(store.load({ namespace: [], name: 't' })).rejects.toThrow(/at least one level/);
  });
});

describe('PgCatalogStore and PgViewCatalogStore share one identifier space and each moves only its own kind', () => {
  it('a store cannot swap, drop or rename the other kind, even knowing its pointer; a held name refuses create and rename', async () => {
    const tables = new PgCatalogStore(pool);
    const views = new PgViewCatalogStore(pool);
    const namespace = ['it', `kind_${randomUUID().replace(/-/g, '')}`];
    const t: TableIdentifier = { namespace, name: 't' };
    const v: TableIdentifier = { namespace, name: 'v' };
    await tables.create(t, 's3://x/t/metadata/v1.metadata.json');
    await views.create(v, 's3://x/v/metadata/v1.metadata.json');

    expect(await tables.compareAndSwap(v, 's3://x/v/metadata/v1.metadata.json', 's3://x/v/metadata/v2.metadata.json')).toBe(false);
    expect(await views.compareAndSwap(t, 's3://x/t/metadata/v1.metadata.json', 's3://x/t/metadata/v2.metadata.json')).toBe(false);
    expect(await tables.drop(v)).toBe(false);
    expect(await views.drop(t)).toBe(false);
    expect(await tables.rename(v, { namespace, name: 'w' })).toBe('missing');
    expect(await views.rename(t, { namespace, name: 'w' })).toBe('missing');
    expect(await tables.load(t)).toEqual({ metadataLocation: 's3://x/t/metadata/v1.metadata.json' });
    expect(await views.load(v)).toEqual({ metadataLocation: 's3://x/v/metadata/v1.metadata.json' });
    expect(await tables.load(v)).toBeNull();
    expect(await views.load(t)).toBeNull();
    expect(await tables.list(namespace)).toEqual([t]);
    expect(await views.list(namespace)).toEqual([v]);

    await expect(tables.create(v, 's3://x/other')).rejects.toBeInstanceOf(TableAlreadyExistsError);
    await expect(views.create(t, 's3://x/other')).rejects.toThrow(`Table with same name already exists: it.${namespace[1]}.t`);
    expect(await tables.rename(t, v)).toBe('taken');
    expect(await views.rename(v, t)).toBe('taken');

    expect(await tables.rename(t, { namespace, name: 't2' })).toBe('renamed');
    expect(await views.rename(v, { namespace, name: 'v2' })).toBe('renamed');
    expect(await tables.list(namespace)).toEqual([{ namespace, name: 't2' }]);
    expect(await views.kindOf({ namespace, name: 'v2' })).toBe('view');
    expect(await tables.drop({ namespace, name: 't2' })).toBe(true);
    expect(await views.drop({ namespace, name: 'v2' })).toBe(true);
    expect(await views.kindOf({ namespace, name: 'v2' })).toBeNull();
  });
});

describe('PgCatalogStore commits', () => {
  it('keeps the previous metadata location on swap', async () => {
    const store = new PgCatalogStore(pool);
    const id: TableIdentifier = { namespace: ['it', `prev_${randomUUID().slice(0, 8)}`], name: 't' };
    await store.create(id, 'loc1');
    await store.compareAndSwap(id, 'loc1', 'loc2');
    const res = await pool.query<{ metadata_location: string; previous_metadata_location: string }>(
      'SELECT metadata_location, previous_metadata_location FROM iceberg_tables WHERE namespace = $1 AND name = $2',
      [id.namespace.join('.'), id.name],
    );
    expect(res.rows).toEqual([{ metadata_location: 'loc2', previous_metadata_location: 'loc1' }]);
    await store.drop(id);
  });

  it('16 concurrent appends to one table all land exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atoll-iceberg-pg-'));
    const io = new LocalFileIO();
    const catalog = new PgCatalogStore(pool);
    const id: TableIdentifier = { namespace: ['it', `conc_${randomUUID().replace(/-/g, '').slice(0, 12)}`], name: 'events' };
    try {
      const schema = icebergSchemaFromColumns([{ name: 'id', type: 'long', required: true }]);
      await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema });
      const file = (i: number): DataFile => ({
        filePath: fileUri(join(dir, 'events', 'data', `part-${i}.parquet`)),
        fileFormat: 'PARQUET',
        partition: {},
        recordCount: 1000 + i,
        fileSizeInBytes: 4096 + i,
      });
      const writers = Array.from({ length: 16 }, (_, i) => appendFiles({ io, catalog, id, files: [file(i)], commitId: `batch-${i}` }));
      const results = await Promise.all(writers);
      expect(results.every((r) => !r.alreadyCommitted)).toBe(true);
      expect(new Set(results.map((r) => r.snapshotId)).size).toBe(16);

      const { metadata, metadataLocation } = await loadTable({ io, catalog, id });
      const history = ancestors(metadata);
      expect(history).toHaveLength(16);
      expect(metadata.snapshots).toHaveLength(16);
      expect(history.map((s) => s['sequence-number'])).toEqual(Array.from({ length: 16 }, (_, i) => 16 - i));
      expect(history.map((s) => s.summary['atoll.commit-id']).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `batch-${i}`).sort());
      const expectedRecords = Array.from({ length: 16 }, (_, i) => 1000 + i).reduce((a, b) => a + b, 0);
      expect(currentSnapshot(metadata)!.summary['total-records']).toBe(String(expectedRecords));
      expect(currentSnapshot(metadata)!.summary['total-data-files']).toBe('16');
      const files = await planFiles({ io, metadata });
      expect(files).toHaveLength(16);
      expect(new Set(files.map((f) => f.filePath)).size).toBe(16);
      expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(expectedRecords);

      // A retried batch (same commit ids) changes nothing.
      const retries = await Promise.all(Array.from({ length: 16 }, (_, i) => appendFiles({ io, catalog, id, files: [file(i)], commitId: `batch-${i}` })));
      expect(retries.every((r) => r.alreadyCommitted)).toBe(true);
      expect(retries.map((r) => r.snapshotId)).toEqual(results.map((r) => r.snapshotId));
      expect((await loadTable({ io, catalog, id })).metadataLocation).toBe(metadataLocation);
    } finally {
      await catalog.drop(id);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
