// Commit logic against MemoryCatalogStore + LocalFileIO: appends accumulate, commit ids make retries no-ops,
// CAS conflicts are retried until every writer lands, overwrite is copy-on-write and validates its deletes.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { MemoryCatalogStore } from './catalog-store.js';
import {
  appendFiles,
  createTable,
  loadTable,
  overwriteFiles,
  planChanges,
  planFiles,
  readManifestEntries,
  readManifestList,
} from './index.js';
import { CommitConflictError, InvalidInputError, TableAlreadyExistsError, TableNotFoundError } from './errors.js';
import { LocalFileIO, fileUri } from './io.js';
import type { DataFile } from './manifest.js';
import { ancestors, currentSchema, currentSnapshot } from './metadata.js';
import { icebergSchemaFromColumns } from './schema.js';
import { updateSchema } from './evolution.js';
import { commitTableUpdates } from './commit.js';
import { forgetOwnManifest } from './scan.js';

const schema = icebergSchemaFromColumns([
  { name: 'id', type: 'long', required: true },
  { name: 'country', type: 'string' },
]);

function dataFile(dir: string, name: string, records: number, partition: Record<string, unknown> = {}): DataFile {
  return {
    filePath: fileUri(join(dir, 'data', `${name}.parquet`)),
    fileFormat: 'PARQUET',
    partition: partition as DataFile['partition'],
    recordCount: records,
    fileSizeInBytes: records * 100,
  };
}

/** A catalog whose next compareAndSwap first runs `before` — a deterministic way to lose a race. */
class InterleavingCatalog implements CatalogStore {
  before: (() => Promise<void>) | undefined;
  /** Loads that fail after the next successful swap (a database restarting right after COMMIT). */
  failLoadsAfterSwap = 0;
  private failLoads = 0;
  /** Runs after the inner swap and before the throw of `afterSwapThrow`: another writer landing on top meanwhile. */
  afterSwap: (() => Promise<void>) | undefined;
  afterSwapThrow = false;
  swaps = 0;
  loads = 0;
  constructor(readonly inner: CatalogStore) {}
  load(id: TableIdentifier) {
    this.loads++;
    if (this.failLoads > 0) {
      this.failLoads--;
      return Promise.reject(new Error('the database system is shutting down'));
    }
    return this.inner.load(id);
  }
  create(id: TableIdentifier, loc: string) {
    return this.inner.create(id, loc);
  }
  async compareAndSwap(id: TableIdentifier, expected: string, next: string) {
    this.swaps++;
    const hook = this.before;
    this.before = undefined;
    if (hook) await hook();
    const ok = await this.inner.compareAndSwap(id, expected, next);
    if (ok && this.failLoadsAfterSwap > 0) {
      this.failLoads = this.failLoadsAfterSwap;
      this.failLoadsAfterSwap = 0;
    }
    const after = this.afterSwap;
    this.afterSwap = undefined;
    if (after) await after();
    if (this.afterSwapThrow) {
      this.afterSwapThrow = false;
      throw new Error('connection reset after COMMIT');
    }
    return ok;
  }
  list(ns: string[]) {
    return this.inner.list(ns);
  }
  drop(id: TableIdentifier) {
    return this.inner.drop(id);
  }
}

let dir: string;
let io: LocalFileIO;
let catalog: MemoryCatalogStore;
const id = { namespace: ['raw'], name: 'events' };

async function newTable(partitioned = false) {
  return createTable({
    io,
    catalog,
    id,
    location: fileUri(join(dir, 'events')),
    schema,
    ...(partitioned ? { partitionSpec: [{ sourceColumn: 'country', transform: 'identity' }] } : {}),
  });
}

function metadataFiles(): string[] {
  return readdirSync(join(dir, 'events', 'metadata')).filter((f) => f.endsWith('.metadata.json')).sort();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ib-commit-'));
  io = new LocalFileIO();
  catalog = new MemoryCatalogStore();
});

describe('createTable / loadTable', () => {
  it('writes v1 metadata and version-hint, registers the pointer', async () => {
    const t = await newTable();
    expect(t.metadataLocation).toBe(fileUri(join(dir, 'events', 'metadata', 'v1.metadata.json')));
    expect(readFileSync(join(dir, 'events', 'metadata', 'version-hint.text'), 'utf8')).toBe('1');
    expect((await loadTable({ io, catalog, id })).metadata).toEqual(t.metadata);
    expect(await catalog.list(['raw'])).toEqual([id]);
  });

  it('refuses duplicates unless ifNotExists, and unknown tables fail clearly', async () => {
    const t = await newTable();
    await expect(newTable()).rejects.toThrow(TableAlreadyExistsError);
    const again = await createTable({ io, catalog, id, location: 'file:///elsewhere', schema, ifNotExists: true });
    expect(again.metadataLocation).toBe(t.metadataLocation);
    await expect(createTable({ io, catalog, id: { namespace: ['raw'], name: 'other' }, location: fileUri(join(dir, 'events')), schema })).rejects.toThrow(
      /already holds an Iceberg table/,
    );
    await expect(loadTable({ io, catalog, id: { namespace: ['raw'], name: 'nope' } })).rejects.toThrow(TableNotFoundError);
    await expect(loadTable({ io, catalog, id: { namespace: ['raw'], name: 'nope' } })).rejects.toThrow(/raw\.nope does not exist/);
  });
});

describe('appendFiles', () => {
  it('appends accumulate: snapshots chain, totals add up, metadata-log and version hint advance', async () => {
    await newTable();
    const r1 = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3), dataFile(dir, 'b', 4)] });
    const r2 = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'c', 5)] });
    expect(r1.alreadyCommitted).toBe(false);
    expect(r2.metadataLocation).toBe(fileUri(join(dir, 'events', 'metadata', 'v3.metadata.json')));
    expect(readFileSync(join(dir, 'events', 'metadata', 'version-hint.text'), 'utf8')).toBe('3');
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata['current-snapshot-id']).toBe(r2.snapshotId);
    expect(metadata['last-sequence-number']).toBe(2);
    expect(ancestors(metadata).map((s) => [s['snapshot-id'], s['sequence-number']])).toEqual([
      [r2.snapshotId, 2],
      [r1.snapshotId, 1],
    ]);
    expect(currentSnapshot(metadata)!['parent-snapshot-id']).toBe(r1.snapshotId);
    expect(currentSnapshot(metadata)!.summary).toMatchObject({
      operation: 'append',
      'added-data-files': '1',
      'added-records': '5',
      'added-files-size': '500',
      'total-records': '12',
      'total-data-files': '3',
      'total-files-size': '1200',
    });
    expect(metadata['metadata-log'].map((e) => e['metadata-file'].split('/').pop())).toEqual(['v1.metadata.json', 'v2.metadata.json']);
    expect(metadata['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([r1.snapshotId, r2.snapshotId]);
    expect(metadata.refs.main).toEqual({ 'snapshot-id': r2.snapshotId, type: 'branch' });
    const files = await planFiles({ io, metadata });
    expect(files.map((f) => f.filePath.split('/').pop()).sort()).toEqual(['a.parquet', 'b.parquet', 'c.parquet']);
    expect((await planFiles({ io, metadata, snapshotId: r1.snapshotId })).length).toBe(2);
    // Sequence numbers are inherited: added entries are written null, the manifest list carries the number.
    const manifests = await readManifestList(io, currentSnapshot(metadata)!);
    expect(manifests.map((m) => [m.sequenceNumber, m.addedSnapshotId, m.addedFilesCount])).toEqual([
      [2, r2.snapshotId, 1],
      [1, r1.snapshotId, 2],
    ]);
    const entries = await readManifestEntries(io, metadata, manifests[0]!);
    expect(entries.map((e) => [e.status, e.snapshotId, e.sequenceNumber])).toEqual([[1, r2.snapshotId, null]]);
    const changes = await planChanges({ io, metadata, fromSnapshotId: r1.snapshotId });
    expect(changes.added.map((f) => f.filePath.split('/').pop())).toEqual(['c.parquet']);
  });

  it('a repeated commit id adds nothing and returns the original snapshot', async () => {
    await newTable();
    const first = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3)], commitId: 'ingest-42' });
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'b', 1)] });
    const before = await loadTable({ io, catalog, id });
    const retry = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3)], commitId: 'ingest-42' });
    expect(retry).toEqual({ snapshotId: first.snapshotId, metadataLocation: before.metadataLocation, alreadyCommitted: true });
    const after = await loadTable({ io, catalog, id });
    expect(after.metadataLocation).toBe(before.metadataLocation);
    expect(after.metadata.snapshots).toHaveLength(2);
    expect(currentSnapshot(after.metadata)!.summary['total-records']).toBe('4');
    expect(after.metadata.snapshots[0]!.summary['atoll.commit-id']).toBe('ingest-42');
  });

  it('a lost compare-and-swap is retried on the new base and both commits land', async () => {
    await newTable();
    const racing = new InterleavingCatalog(catalog);
    let rival: Awaited<ReturnType<typeof appendFiles>> | undefined;
    racing.before = async () => {
      rival = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'rival', 7)] });
    };
    const mine = await appendFiles({ io, catalog: racing, id, files: [dataFile(dir, 'mine', 2)] });
    expect(racing.swaps).toBe(2);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([rival!.snapshotId, mine.snapshotId]);
    expect(currentSnapshot(metadata)!['parent-snapshot-id']).toBe(rival!.snapshotId);
    expect(currentSnapshot(metadata)!.summary['total-records']).toBe('9');
    expect((await planFiles({ io, metadata })).length).toBe(2);
    // Ours wrote v2 first, so the rival skipped to v3 and won; our losing v2 was removed and the retry became v4.
    expect(metadataFiles()).toEqual(['v1.metadata.json', 'v3.metadata.json', 'v4.metadata.json']);
    expect(readFileSync(join(dir, 'events', 'metadata', 'version-hint.text'), 'utf8')).toBe('4');
    // One manifest list per committed snapshot: the losing attempt's list was cleaned up too.
    expect(readdirSync(join(dir, 'events', 'metadata')).filter((f) => f.startsWith('snap-'))).toHaveLength(2);
    expect(metadata['metadata-log'].map((e) => e['metadata-file'].split('/').pop())).toEqual(['v1.metadata.json', 'v3.metadata.json']);
  });

  it('many concurrent appends all land exactly once', async () => {
    await newTable();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => appendFiles({ io, catalog, id, files: [dataFile(dir, `f${i}`, i + 1)], commitId: `job-${i}` })),
    );
    expect(results.every((r) => !r.alreadyCommitted)).toBe(true);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots).toHaveLength(12);
    expect(ancestors(metadata)).toHaveLength(12);
    expect(currentSnapshot(metadata)!.summary['total-records']).toBe(String((12 * 13) / 2));
    expect((await planFiles({ io, metadata })).length).toBe(12);
  });

  it('concurrent appends in one process share swaps: each its own snapshot and commit id, chained in call order', async () => {
    await newTable();
    const counting = new InterleavingCatalog(catalog);
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) => appendFiles({ io, catalog: counting, id, files: [dataFile(dir, `g${i}`, i + 1)], commitId: `group-${i}` })),
    );
    // One group commit: far fewer swaps (and metadata versions) than appends.
    expect(counting.swaps).toBeLessThan(4);
    expect(metadataFiles().length).toBeLessThan(5);
    const { metadata, metadataLocation } = await loadTable({ io, catalog, id });
    expect(results.every((r) => !r.alreadyCommitted && r.metadataLocation === metadataLocation)).toBe(true);
    expect(new Set(results.map((r) => r.snapshotId)).size).toBe(32);
    // Newest first: the last call is current, each snapshot's parent is the call before it.
    const chain = ancestors(metadata);
    expect(chain.map((s) => s['snapshot-id'])).toEqual(results.map((r) => r.snapshotId).reverse());
    expect(chain.map((s) => s.summary['atoll.commit-id'])).toEqual(results.map((_, i) => `group-${i}`).reverse());
    expect(chain.map((s) => s['sequence-number'])).toEqual(Array.from({ length: 32 }, (_, i) => 32 - i));
    expect(chain.map((s) => s.summary['total-records'])).toEqual(Array.from({ length: 32 }, (_, i) => String(((32 - i) * (33 - i)) / 2)));
    expect(metadata['snapshot-log'].map((e) => e['snapshot-id'])).toEqual(results.map((r) => r.snapshotId));
    // Every snapshot of the chain reads as it would have after a serial commit.
    for (const [i, r] of results.entries()) {
      const files = await planFiles({ io, metadata, snapshotId: r.snapshotId });
      expect(files.map((f) => f.filePath.split('/').pop()).sort()).toEqual(Array.from({ length: i + 1 }, (_, j) => `g${j}.parquet`).sort());
    }
    expect(readFileSync(join(dir, 'events', 'metadata', 'version-hint.text'), 'utf8')).toBe(metadataLocation.match(/v(\d+)\.metadata\.json$/)![1]);
  });

  it('in a group, a repeated commit id lands once and a call whose files do not fit the table fails alone', async () => {
    await newTable(true);
    const [a, again, bad, b] = await Promise.allSettled([
      appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 1, { country: 'NL' })], commitId: 'job-a' }),
      appendFiles({ io, catalog, id, files: [dataFile(dir, 'a-retry', 1, { country: 'NL' })], commitId: 'job-a' }),
      appendFiles({ io, catalog, id, files: [dataFile(dir, 'bad', 1)], commitId: 'job-bad' }),
      appendFiles({ io, catalog, id, files: [dataFile(dir, 'b', 2, { country: 'DE' })], commitId: 'job-b' }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('fulfilled');
    expect(bad.status === 'rejected' && String(bad.reason)).toMatch(/partition value for country is missing/);
    const first = a.status === 'fulfilled' ? a.value : undefined;
    expect(again.status === 'fulfilled' && [again.value.snapshotId, again.value.alreadyCommitted]).toEqual([first?.snapshotId, true]);
    expect(first?.alreadyCommitted).toBe(false);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots).toHaveLength(2);
    expect((await planFiles({ io, metadata })).map((f) => f.filePath.split('/').pop()).sort()).toEqual(['a.parquet', 'b.parquet']);
  });

  it('a group that loses its swap is rebuilt on the winner without rewriting its manifests', async () => {
    await newTable();
    const racing = new InterleavingCatalog(catalog);
    racing.before = async () => void (await appendFiles({ io, catalog, id, files: [dataFile(dir, 'rival', 100)], commitId: 'rival' }));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => appendFiles({ io, catalog: racing, id, files: [dataFile(dir, `m${i}`, 1)], commitId: `m-${i}` })));
    expect(racing.swaps).toBe(2);
    expect(results.every((r) => !r.alreadyCommitted)).toBe(true);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(ancestors(metadata).map((s) => s.summary['atoll.commit-id'])).toEqual(['m-5', 'm-4', 'm-3', 'm-2', 'm-1', 'm-0', 'rival']);
    expect(currentSnapshot(metadata)!.summary['total-records']).toBe('106');
    expect((await planFiles({ io, metadata })).length).toBe(7);
    // The lost attempt's manifest lists were removed and its manifests reused: one of each per committed snapshot.
    const names = readdirSync(join(dir, 'events', 'metadata'));
    expect(names.filter((f) => f.startsWith('snap-'))).toHaveLength(7);
    expect(names.filter((f) => f.endsWith('-m0.avro'))).toHaveLength(7);
  });

  it('a group swap that landed behind an error is found, not applied twice', async () => {
    await newTable();
    const flaky = new InterleavingCatalog(catalog);
    flaky.afterSwapThrow = true;
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => appendFiles({ io, catalog: flaky, id, files: [dataFile(dir, `u${i}`, 1)], commitId: `u-${i}` })));
    expect(results.every((r) => !r.alreadyCommitted)).toBe(true);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots.map((s) => s['snapshot-id'])).toEqual(results.map((r) => r.snapshotId));
    expect((await planFiles({ io, metadata })).length).toBe(5);
  });

  it('a failure after a swap landed (the version hint, the database restarting) keeps the committed manifests', async () => {
    await newTable();
    const flaky = new InterleavingCatalog(catalog);
    flaky.failLoadsAfterSwap = 16;
    // The chaos suite found this: the swap landed, the version hint's read failed, and the commit's manifests were
    // deleted as if nothing had been committed — every later reader of the table failed.
    await expect(appendFiles({ io, catalog: flaky, id, files: [dataFile(dir, 'kept', 3)], commitId: 'kept' })).rejects.toThrow(/shutting down/);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots).toHaveLength(1);
    expect((await planFiles({ io, metadata })).map((f) => f.recordCount)).toEqual([3]);
    // The retry finds the commit, and the table stays readable.
    const again = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'kept', 3)], commitId: 'kept' });
    expect(again.alreadyCommitted).toBe(true);
  });

  it('merges small manifests once a spec has min-count-to-merge of them; every snapshot still reads the same files', async () => {
    await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema, properties: { 'commit.manifest.min-count-to-merge': '5' } });
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await appendFiles({ io, catalog, id, files: [dataFile(dir, `s${i}`, 1)], commitId: `s-${i}` }));
    const { metadata } = await loadTable({ io, catalog, id });
    const lists = await Promise.all(ancestors(metadata).reverse().map((s) => readManifestList(io, s)));
    // Never more than min-count manifests carried into a snapshot; the merge snapshots say what they replaced.
    expect(Math.max(...lists.map((l) => l.length))).toBeLessThanOrEqual(6);
    expect(lists.at(-1)!.length).toBeLessThan(12);
    expect(ancestors(metadata).some((s) => Number(s.summary['manifests-replaced']) >= 5)).toBe(true);
    for (const [i, r] of results.entries()) {
      const files = await planFiles({ io, metadata, snapshotId: r.snapshotId });
      expect(files.map((f) => f.filePath.split('/').pop()).sort()).toEqual(Array.from({ length: i + 1 }, (_, j) => `s${j}.parquet`).sort());
    }
    // Merged entries are EXISTING: an incremental reader still sees each file added once, by its own snapshot.
    const changes = await planChanges({ io, metadata, fromSnapshotId: results[2]!.snapshotId });
    expect(changes.added.map((f) => f.filePath.split('/').pop()).sort()).toEqual(Array.from({ length: 9 }, (_, j) => `s${j + 3}.parquet`).sort());
    expect(changes.removed).toEqual([]);
  });

  it('a serial appender merges the manifests it wrote without reading them back; manifests another process wrote are read', async () => {
    await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema, properties: { 'commit.manifest.min-count-to-merge': '4' } });
    const manifestReads: string[] = [];
    const counting = new LocalFileIO();
    const read = counting.read.bind(counting);
    counting.read = (uri: string) => {
      if (uri.endsWith('-m0.avro')) manifestReads.push(uri);
      return read(uri);
    };
    for (let i = 0; i < 10; i++) await appendFiles({ io: counting, catalog, id, files: [dataFile(dir, `own${i}`, 1)], commitId: `own-${i}` });
    let { metadata } = await loadTable({ io, catalog, id });
    expect(ancestors(metadata).filter((s) => Number(s.summary['manifests-replaced']) > 0).length).toBeGreaterThanOrEqual(2);
    expect(manifestReads).toEqual([]);
    // Another process (fresh module instances: its own caches) appends; this process's next merge must read those.
    vi.resetModules();
    const other = await import('./index.js');
    for (let i = 0; i < 3; i++) await other.appendFiles({ io, catalog: new InterleavingCatalog(catalog), id, files: [dataFile(dir, `other${i}`, 1)], commitId: `other-${i}` });
    await appendFiles({ io: counting, catalog, id, files: [dataFile(dir, 'last', 1)], commitId: 'last' });
    ({ metadata } = await loadTable({ io, catalog, id }));
    expect(Number(currentSnapshot(metadata)!.summary['manifests-replaced'])).toBeGreaterThan(0);
    expect(manifestReads.length).toBeGreaterThanOrEqual(3);
    // Every snapshot, read from the store, holds exactly the files appended up to it.
    const order = ancestors(metadata).reverse();
    for (const [i, snap] of order.entries()) {
      const expected = order.slice(0, i + 1).map((s) => `${s.summary['atoll.commit-id']!.replace('-', '')}.parquet`);
      expect((await planFiles({ io, metadata, snapshotId: snap['snapshot-id'] })).map((f) => f.filePath.split('/').pop()).sort()).toEqual(expected.sort());
    }
  });

  it('an incremental read skips the merged manifests (EXISTING entries only) and still sees each file once', async () => {
    await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema, properties: { 'commit.manifest.min-count-to-merge': '3' } });
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await appendFiles({ io, catalog, id, files: [dataFile(dir, `i${i}`, 1)], commitId: `i-${i}` }));
    const { metadata } = await loadTable({ io, catalog, id });
    const merged = new Set((await Promise.all(ancestors(metadata).map((s) => readManifestList(io, s)))).flat().filter((m) => m.addedFilesCount === 0 && m.deletedFilesCount === 0).map((m) => m.manifestPath));
    expect(merged.size).toBeGreaterThanOrEqual(3);
    // A reader in another process (fresh module instances: nothing cached) reads only the appends' own manifests.
    vi.resetModules();
    const other = await import('./index.js');
    const reads: string[] = [];
    const counting = new LocalFileIO();
    const read = counting.read.bind(counting);
    counting.read = (uri: string) => {
      reads.push(uri);
      return read(uri);
    };
    const changes = await other.planChanges({ io: counting, metadata, fromSnapshotId: results[1]!.snapshotId });
    expect(changes.added.map((f) => f.filePath.split('/').pop()).sort()).toEqual(Array.from({ length: 10 }, (_, j) => `i${j + 2}.parquet`).sort());
    expect(changes.removed).toEqual([]);
    expect(reads.filter((u) => merged.has(u))).toEqual([]);
    expect(reads.filter((u) => u.endsWith('-m0.avro'))).toHaveLength(10);
  });

  // Found by `bench/profile-appends.ts 1000 500 8 1`: a group commit builds its whole chain before it writes anything,
  // and a merge at a later link read the manifests of earlier links from the store — "manifest listed in the manifest
  // list does not exist", and the group failed. min-count 2 merges at every link, so both the appended manifests and a
  // merged one of the same chain get merged again.
  it('merges inside a group commit: later links merge manifests the group has not written yet', async () => {
    await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema, properties: { 'commit.manifest.min-count-to-merge': '2' } });
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'base', 1)], commitId: 'base' });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => appendFiles({ io, catalog, id, files: [dataFile(dir, `c${i}`, 1)], commitId: `c-${i}` })));
    const { metadata, metadataLocation } = await loadTable({ io, catalog, id });
    // One group, one swap: the chain was built before anything of it was written.
    expect(results.every((r) => !r.alreadyCommitted && r.metadataLocation === metadataLocation)).toBe(true);
    const chain = ancestors(metadata).reverse().slice(1);
    expect(chain.map((s) => s.summary['atoll.commit-id'])).toEqual(results.map((_, i) => `c-${i}`));
    expect(chain.slice(1).every((s) => Number(s.summary['manifests-replaced']) >= 2)).toBe(true);
    for (const [i, r] of results.entries()) {
      const files = await planFiles({ io, metadata, snapshotId: r.snapshotId });
      expect(files.map((f) => f.filePath.split('/').pop()).sort()).toEqual(['base.parquet', ...Array.from({ length: i + 1 }, (_, j) => `c${j}.parquet`)].sort());
    }
    // The next group merges what this one wrote.
    await Promise.all([0, 1].map((i) => appendFiles({ io, catalog, id, files: [dataFile(dir, `d${i}`, 1)], commitId: `d-${i}` })));
    expect((await planFiles({ io, metadata: (await loadTable({ io, catalog, id })).metadata })).length).toBe(11);
  });

  it('a merging group that loses its swap merges again on the winner; the lost merged manifests go, the committed ones stay', async () => {
    await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema, properties: { 'commit.manifest.min-count-to-merge': '3' } });
    for (let i = 0; i < 2; i++) await appendFiles({ io, catalog, id, files: [dataFile(dir, `b${i}`, 1)], commitId: `b-${i}` });
    const racing = new InterleavingCatalog(catalog);
    racing.before = async () => void (await appendFiles({ io, catalog, id, files: [dataFile(dir, 'rival', 1)], commitId: 'rival' }));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => appendFiles({ io, catalog: racing, id, files: [dataFile(dir, `m${i}`, 1)], commitId: `m-${i}` })));
    expect(racing.swaps).toBe(2);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(ancestors(metadata).map((s) => s.summary['atoll.commit-id'])).toEqual(['m-5', 'm-4', 'm-3', 'm-2', 'm-1', 'm-0', 'rival', 'b-1', 'b-0']);
    for (const [i, r] of results.entries()) {
      const files = await planFiles({ io, metadata, snapshotId: r.snapshotId });
      expect(files.map((f) => f.filePath.split('/').pop()).sort()).toEqual(['b0.parquet', 'b1.parquet', 'rival.parquet', ...Array.from({ length: i + 1 }, (_, j) => `m${j}.parquet`)].sort());
    }
    // Every manifest in the directory is named by a committed list: the lost attempt's merged manifests were removed.
    const named = new Set((await Promise.all(metadata.snapshots.map((s) => readManifestList(io, s)))).flat().map((m) => m.manifestPath.split('/').pop()));
    expect(readdirSync(join(dir, 'events', 'metadata')).filter((f) => f.endsWith('-m0.avro')).sort()).toEqual([...named].sort());
  });

  it('a group whose attempt fails after building part of its chain writes every manifest its committed attempt names', async () => {
    await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema, properties: { 'commit.manifest.min-count-to-merge': '3' } });
    for (let i = 0; i < 2; i++) await appendFiles({ io, catalog, id, files: [dataFile(dir, `b${i}`, 1)], commitId: `b-${i}` });
    // Another process (fresh module instances: its own caches) rewrites the manifests and expires the appends, so the
    // two manifests this process wrote are gone.
    vi.resetModules();
    const other = await import('./index.js');
    await other.rewriteManifests({ io, catalog: new InterleavingCatalog(catalog), id });
    const deleted = (await other.expireSnapshots({ io, catalog: new InterleavingCatalog(catalog), id, retainLast: 1 })).deletedFiles.filter((f) => f.endsWith('-m0.avro'));
    expect(deleted).toHaveLength(2);
    // This process still holds the bytes of the two manifests it wrote (merges decode them from memory); past its
    // cache's bound it would not, and then the merge below reads the store and fails half-way, as before the cache.
    for (const f of deleted) forgetOwnManifest(f);
    // An attempt built on what this process committed last (a base it did not read back; the engine may try that
    // first) fails at the second link, merging a deleted manifest, after the first link's manifest was encoded. The
    // attempt on the table as it is must write that manifest itself, not take the failed attempt's word for it.
    const results = await Promise.all([0, 1].map((i) => appendFiles({ io, catalog, id, files: [dataFile(dir, `n${i}`, 1)], commitId: `n-${i}` })));
    const { metadata } = await loadTable({ io, catalog, id });
    for (const [i, r] of results.entries()) {
      const files = await planFiles({ io, metadata, snapshotId: r.snapshotId });
      expect(files.map((f) => f.filePath.split('/').pop()).sort()).toEqual(['b0.parquet', 'b1.parquet', ...Array.from({ length: i + 1 }, (_, j) => `n${j}.parquet`)].sort());
    }
  });

  it('skips a leftover v<N+1>.metadata.json that never became current', async () => {
    await newTable();
    mkdirSync(join(dir, 'events', 'metadata'), { recursive: true });
    writeFileSync(join(dir, 'events', 'metadata', 'v2.metadata.json'), '{"crashed": true}');
    const r = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 1)] });
    expect(r.metadataLocation.endsWith('/v3.metadata.json')).toBe(true);
    expect(readFileSync(join(dir, 'events', 'metadata', 'version-hint.text'), 'utf8')).toBe('3');
  });

  it('detects a swap that landed although the store reported an error', async () => {
    await newTable();
    const flaky = new InterleavingCatalog(catalog);
    flaky.afterSwapThrow = true;
    const r = await appendFiles({ io, catalog: flaky, id, files: [dataFile(dir, 'a', 1)] });
    expect(r.alreadyCommitted).toBe(false);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([r.snapshotId]);
  });

  it('validates files and partition values', async () => {
    await newTable(true);
    await expect(appendFiles({ io, catalog, id, files: [] })).rejects.toThrow(InvalidInputError);
    await expect(appendFiles({ io, catalog, id, files: [{ ...dataFile(dir, 'a', 1), filePath: '/no/scheme.parquet' }] })).rejects.toThrow(/absolute URI/);
    await expect(appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 1)] })).rejects.toThrow(/partition value for country is missing/);
    await expect(appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 1, { country: 'NL', extra: 1 })] })).rejects.toThrow(/unknown field "extra"/);
    const r = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 1, { country: 'NL' }), dataFile(dir, 'b', 1, { country: null })] });
    const { metadata } = await loadTable({ io, catalog, id });
    expect(currentSnapshot(metadata)!['snapshot-id']).toBe(r.snapshotId);
    expect(currentSnapshot(metadata)!.summary['changed-partition-count']).toBe('2');
    const files = await planFiles({ io, metadata });
    expect(files.map((f) => f.partition)).toEqual([{ country: 'NL' }, { country: null }]);
    const [manifest] = await readManifestList(io, currentSnapshot(metadata)!);
    expect(manifest!.partitions).toEqual([{ containsNull: true, containsNan: null, lowerBound: Uint8Array.from(Buffer.from('NL')), upperBound: Uint8Array.from(Buffer.from('NL')) }]);
  });
});

describe('overwriteFiles', () => {
  it('replaces files copy-on-write: deleted entries recorded, the rest kept as existing', async () => {
    await newTable();
    const a1 = await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3), dataFile(dir, 'b', 4)] });
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'c', 5)] });
    const r = await overwriteFiles({ io, catalog, id, deleteFiles: [dataFile(dir, 'a', 0).filePath], addFiles: [dataFile(dir, 'a2', 2)] });
    const { metadata } = await loadTable({ io, catalog, id });
    const snap = currentSnapshot(metadata)!;
    expect(snap['snapshot-id']).toBe(r.snapshotId);
    expect(snap.summary).toMatchObject({
      operation: 'overwrite',
      'added-data-files': '1',
      'added-records': '2',
      'deleted-data-files': '1',
      'deleted-records': '3',
      'removed-files-size': '300',
      'total-records': '11',
      'total-data-files': '3',
      'manifests-replaced': '1',
      'manifests-kept': '1',
    });
    expect((await planFiles({ io, metadata })).map((f) => f.filePath.split('/').pop()).sort()).toEqual(['a2.parquet', 'b.parquet', 'c.parquet']);
    const manifests = await readManifestList(io, snap);
    const rewritten = manifests.find((m) => m.deletedFilesCount === 1)!;
    expect(rewritten).toMatchObject({ existingFilesCount: 1, addedFilesCount: 0, sequenceNumber: 3, minSequenceNumber: 1, addedSnapshotId: r.snapshotId });
    const entries = await readManifestEntries(io, metadata, rewritten);
    expect(entries.map((e) => [e.dataFile.filePath.split('/').pop(), e.status, e.snapshotId, e.sequenceNumber, e.fileSequenceNumber])).toEqual([
      ['a.parquet', 2, r.snapshotId, 1, 1],
      ['b.parquet', 0, a1.snapshotId, 1, 1],
    ]);
    // The previous snapshot still sees the old file (time travel).
    expect((await planFiles({ io, metadata, snapshotId: a1.snapshotId })).length).toBe(2);
    const changes = await planChanges({ io, metadata, fromSnapshotId: a1.snapshotId });
    expect(changes.removed.map((f) => f.filePath.split('/').pop())).toEqual(['a.parquet']);
    expect(changes.added.map((f) => f.filePath.split('/').pop()).sort()).toEqual(['a2.parquet', 'c.parquet']);
  });

  it('delete-only overwrite is a delete snapshot; a later append drops manifests with no live files', async () => {
    await newTable();
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3)] });
    await overwriteFiles({ io, catalog, id, deleteFiles: [dataFile(dir, 'a', 0).filePath], addFiles: [] });
    let { metadata } = await loadTable({ io, catalog, id });
    expect(currentSnapshot(metadata)!.summary).toMatchObject({ operation: 'delete', 'total-records': '0', 'total-data-files': '0' });
    expect(await planFiles({ io, metadata })).toEqual([]);
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'b', 1)] });
    ({ metadata } = await loadTable({ io, catalog, id }));
    expect((await readManifestList(io, currentSnapshot(metadata)!)).length).toBe(1);
  });

  it('fails clearly when a file to delete is gone — also when it vanished during a retry', async () => {
    await newTable();
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3), dataFile(dir, 'b', 1)] });
    const aPath = dataFile(dir, 'a', 0).filePath;
    await expect(overwriteFiles({ io, catalog, id, deleteFiles: [dataFile(dir, 'zzz', 0).filePath], addFiles: [] })).rejects.toThrow(
      /not live in snapshot .*zzz\.parquet/,
    );
    const racing = new InterleavingCatalog(catalog);
    racing.before = async () => {
      await overwriteFiles({ io, catalog, id, deleteFiles: [aPath], addFiles: [dataFile(dir, 'compacted', 3)] });
    };
    const err = await overwriteFiles({ io, catalog: racing, id, deleteFiles: [aPath], addFiles: [dataFile(dir, 'a-fixed', 3)] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommitConflictError);
    expect((err as Error).message).toContain('a.parquet');
    const { metadata } = await loadTable({ io, catalog, id });
    expect((await planFiles({ io, metadata })).map((f) => f.filePath.split('/').pop()).sort()).toEqual(['b.parquet', 'compacted.parquet']);
  });

  it('rebases a non-conflicting overwrite over a concurrent append', async () => {
    await newTable();
    await appendFiles({ io, catalog, id, files: [dataFile(dir, 'a', 3)] });
    const racing = new InterleavingCatalog(catalog);
    racing.before = async () => {
      await appendFiles({ io, catalog, id, files: [dataFile(dir, 'late', 10)] });
    };
    await overwriteFiles({ io, catalog: racing, id, deleteFiles: [dataFile(dir, 'a', 0).filePath], addFiles: [dataFile(dir, 'a2', 3)] });
    const { metadata } = await loadTable({ io, catalog, id });
    expect((await planFiles({ io, metadata })).map((f) => f.filePath.split('/').pop()).sort()).toEqual(['a2.parquet', 'late.parquet']);
    expect(currentSnapshot(metadata)!.summary['total-records']).toBe('13');
  });
});

describe('the commit engine (commitWithRetry)', () => {
  it("builds on this process's last commit without reading the pointer; a stale guess is redone against the table as it is", async () => {
    await newTable();
    // Two processes: each catalog object has its own memory of what it committed.
    const a = new InterleavingCatalog(catalog);
    const b = new InterleavingCatalog(catalog);
    await appendFiles({ io, catalog: a, id, files: [dataFile(dir, 'a1', 1)] });
    a.loads = 0;
    a.swaps = 0;
    await appendFiles({ io, catalog: a, id, files: [dataFile(dir, 'a2', 2)] });
    // The only pointer read is the version hint's check after the swap.
    expect(a.loads).toBe(1);
    expect(a.swaps).toBe(1);
    await appendFiles({ io, catalog: b, id, files: [dataFile(dir, 'b1', 4)] });
    a.loads = 0;
    a.swaps = 0;
    // maxRetries 0: the lost guess is not a retry, so the append still lands.
    await appendFiles({ io, catalog: a, id, files: [dataFile(dir, 'a3', 8)], maxRetries: 0 });
    expect(a.swaps).toBe(2);
    const table = await loadTable({ io, catalog, id });
    expect(currentSnapshot(table.metadata)?.summary['total-records']).toBe('15');
    expect((await planFiles({ io, metadata: table.metadata })).map((f) => f.filePath.split('/').pop()).sort()).toEqual(['a1.parquet', 'a2.parquet', 'a3.parquet', 'b1.parquet']);
    expect(ancestors(table.metadata)).toHaveLength(4);
    // The lost guess's metadata file was removed: one file per landed commit (v1 + 4).
    expect(metadataFiles()).toHaveLength(5);
  });

  it('a requirement that only fails against a stale guess is checked again against the table, not refused', async () => {
    await newTable();
    const a = new InterleavingCatalog(catalog);
    const b = new InterleavingCatalog(catalog);
    await appendFiles({ io, catalog: a, id, files: [dataFile(dir, 'a1', 1)] });
    await appendFiles({ io, catalog: b, id, files: [dataFile(dir, 'b1', 2)] });
    const main = currentSnapshot((await loadTable({ io, catalog, id })).metadata)!['snapshot-id'];
    // a remembers main at its own snapshot; the table's main is b's. The requirement holds for the table.
    await commitTableUpdates({ io, catalog: a, id, requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': main }], updates: [{ action: 'set-properties', updates: { by: 'a' } }] });
    const after = await loadTable({ io, catalog, id });
    expect(after.metadata.properties.by).toBe('a');
    expect(currentSnapshot(after.metadata)!['snapshot-id']).toBe(main);
    // And one that fails against the table is still refused, the table unchanged.
    const stale = commitTableUpdates({ io, catalog: a, id, requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1n }], updates: [{ action: 'set-properties', updates: { by: 'x' } }] });
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError);
    expect((await loadTable({ io, catalog, id })).metadataLocation).toBe(after.metadataLocation);
  });

  it('a swap that landed behind an error, with another commit on top before the reload, is found in the metadata-log', async () => {
    await newTable();
    const flaky = new InterleavingCatalog(catalog);
    flaky.afterSwapThrow = true;
    flaky.afterSwap = async () => void (await appendFiles({ io, catalog, id, files: [dataFile(dir, 'on-top', 1)] }));
    // Without the metadata-log check the retry would add the column again and fail: it already exists.
    const r = await updateSchema({ io, catalog: flaky, id, changes: [{ op: 'add-column', name: 'note', type: 'string' }] });
    expect(r.alreadyCommitted).toBe(false);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(currentSchema(metadata).fields.map((f) => f.name)).toEqual(['id', 'country', 'note']);
    expect(metadata.schemas).toHaveLength(2);
    expect(metadata['metadata-log'].map((e) => e['metadata-file'])).toContain(r.metadataLocation);
    expect(metadata.snapshots).toHaveLength(1);
  });

  it('refuses to commit to a table that was dropped and re-created under the same name meanwhile (another uuid)', async () => {
    await newTable();
    const racing = new InterleavingCatalog(catalog);
    racing.before = async () => {
      await catalog.drop(id);
      await createTable({ io, catalog, id, location: fileUri(join(dir, 'events-2')), schema });
    };
    await expect(appendFiles({ io, catalog: racing, id, files: [dataFile(dir, 'a', 1)] })).rejects.toThrow(/was replaced while committing/);
    const { metadata } = await loadTable({ io, catalog, id });
    expect(metadata.snapshots).toHaveLength(0);
    expect(metadata.location).toBe(fileUri(join(dir, 'events-2')));
  });
});
