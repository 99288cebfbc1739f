// Maintenance on a local table: snapshot expiry deletes exactly the unreachable files, manifest rewrite keeps every
// live file, orphan removal deletes only unreferenced old files.
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCatalogStore } from './catalog-store.js';
import { appendFiles, createTable, loadTable, newDataFileUri, overwriteFiles, planChanges, planFiles, readManifestList } from './index.js';
import type { DataFile } from './manifest.js';
import { LocalFileIO, fileUri } from './io.js';
import { currentSnapshot } from './metadata.js';
import { expireSnapshots, removeOrphanFiles, rewriteManifests } from './maintenance.js';
import { icebergSchemaFromColumns } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'atoll-maintenance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = new LocalFileIO();
const schema = icebergSchemaFromColumns([{ name: 'id', type: 'long', required: true }]);

async function table(name: string): Promise<{ catalog: MemoryCatalogStore; id: { namespace: string[]; name: string }; location: string }> {
  const catalog = new MemoryCatalogStore();
  const id = { namespace: ['m'], name };
  const location = fileUri(join(dir, name));
  await createTable({ io, catalog, id, location, schema, partitionSpec: [{ sourceColumn: 'id', transform: 'truncate[10]' }] });
  return { catalog, id, location };
}

/** A data file that exists on disk (content is irrelevant to metadata operations). */
async function dataFile(t: { catalog: MemoryCatalogStore; id: { namespace: string[]; name: string } }, bucket: number, rows: number): Promise<DataFile> {
  const { metadata } = await loadTable({ io, catalog: t.catalog, id: t.id });
  const uri = newDataFileUri(metadata);
  await io.write(uri, new Uint8Array(64));
  return { filePath: uri, fileFormat: 'PARQUET', partition: { id_trunc_10: bucket * 10 }, recordCount: rows, fileSizeInBytes: 64 };
}

const paths = (files: DataFile[]): string[] => files.map((f) => f.filePath).sort();

describe('expireSnapshots', () => {
  it('keeps the newest N, deletes files only the expired snapshots reached, never a live one', async () => {
    const t = await table('expire');
    const a = await dataFile(t, 0, 3);
    const b = await dataFile(t, 1, 4);
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [a] });
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [b] });
    const c = await dataFile(t, 0, 3);
    await overwriteFiles({ io, catalog: t.catalog, id: t.id, deleteFiles: [a.filePath], addFiles: [c], replace: true });
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    const oldLists = before.metadata.snapshots.slice(0, 2).map((s) => s['manifest-list']);

    const res = await expireSnapshots({ io, catalog: t.catalog, id: t.id, retainLast: 1 });
    expect(res.expiredSnapshotIds).toEqual(before.metadata.snapshots.slice(0, 2).map((s) => s['snapshot-id']));
    const after = await loadTable({ io, catalog: t.catalog, id: t.id });
    expect(after.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([before.metadata['current-snapshot-id']]);
    expect(after.metadata['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([before.metadata['current-snapshot-id']]);
    // a is gone (only the expired snapshots had it live); b and c are live; both old manifest lists are gone.
    expect(res.deletedFiles).toContain(a.filePath);
    for (const l of oldLists) expect(res.deletedFiles).toContain(l);
    expect(existsSync(fileURLToPath(a.filePath))).toBe(false);
    expect(existsSync(fileURLToPath(b.filePath))).toBe(true);
    expect(existsSync(fileURLToPath(c.filePath))).toBe(true);
    expect(res.deletedFiles).not.toContain(b.filePath);
    // The table is still complete: every manifest of the current snapshot is readable.
    expect(paths(await planFiles({ io, metadata: after.metadata }))).toEqual(paths([b, c]));
  });

  it('olderThanMs protects young snapshots; deleteFiles: false keeps files; nothing to do is a no-op', async () => {
    const t = await table('expire-young');
    const a = await dataFile(t, 0, 1);
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [a] });
    await overwriteFiles({ io, catalog: t.catalog, id: t.id, deleteFiles: [a.filePath], addFiles: [await dataFile(t, 0, 1)] });
    const young = await expireSnapshots({ io, catalog: t.catalog, id: t.id, olderThanMs: 60_000 });
    expect(young).toEqual({ expiredSnapshotIds: [], deletedFiles: [] });
    const kept = await expireSnapshots({ io, catalog: t.catalog, id: t.id, deleteFiles: false });
    expect(kept.expiredSnapshotIds).toHaveLength(1);
    expect(kept.deletedFiles).toEqual([]);
    expect(existsSync(fileURLToPath(a.filePath))).toBe(true);
    await expect(expireSnapshots({ io, catalog: t.catalog, id: t.id, retainLast: 0 })).rejects.toThrow(/retainLast/);
  });

  it('takes the lists of expired snapshots this process wrote from memory, and still deletes each of them', async () => {
    // Expired through an IO that records every read: the lists this process wrote are not fetched again.
    const reads: string[] = [];
    const counting = { ...io, read: (uri: string) => (reads.push(uri), io.read(uri)), write: io.write.bind(io), exists: io.exists.bind(io), delete: io.delete.bind(io), list: io.list.bind(io) };
    const t = await table('expire-remembered');
    const files: DataFile[] = [];
    for (let i = 0; i < 6; i++) {
      const f = await dataFile(t, i, 1);
      files.push(f);
      await appendFiles({ io, catalog: t.catalog, id: t.id, files: [f] });
    }
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    const expiredLists = before.metadata.snapshots.slice(0, 5).map((s) => s['manifest-list']);
    const res = await expireSnapshots({ io: counting, catalog: t.catalog, id: t.id, retainLast: 1 });
    expect(res.expiredSnapshotIds).toHaveLength(5);
    // Not one expired list was read back; each is deleted all the same, and every data file stays (all live).
    expect(reads.filter((r) => expiredLists.includes(r))).toEqual([]);
    for (const l of expiredLists) {
      expect(res.deletedFiles).toContain(l);
      expect(existsSync(fileURLToPath(l))).toBe(false);
    }
    for (const f of files) expect(existsSync(fileURLToPath(f.filePath))).toBe(true);
    const after = await loadTable({ io, catalog: t.catalog, id: t.id });
    expect(paths(await planFiles({ io, metadata: after.metadata }))).toEqual(paths(files));
  });

  it('still refuses when a retained snapshot\'s manifest list is gone, although this process wrote it', async () => {
    const t = await table('expire-retained-missing');
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [await dataFile(t, 0, 1)] });
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [await dataFile(t, 1, 1)] });
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    await io.delete(currentSnapshot(before.metadata)!['manifest-list']);
    await expect(expireSnapshots({ io, catalog: t.catalog, id: t.id, retainLast: 1 })).rejects.toThrow(/manifest list/);
    // Nothing changed: both snapshots are still there.
    expect((await loadTable({ io, catalog: t.catalog, id: t.id })).metadata.snapshots).toHaveLength(2);
  });
});

describe('overwriteFiles({ replace: true })', () => {
  it('refuses a replace that changes the row count, and one whose inputs are gone; the table is unchanged', async () => {
    const t = await table('replace');
    const a = await dataFile(t, 0, 5);
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [a] });
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    await expect(overwriteFiles({ io, catalog: t.catalog, id: t.id, deleteFiles: [a.filePath], addFiles: [await dataFile(t, 0, 4)], replace: true })).rejects.toThrow(
      /would change the row count \(5 removed, 4 added\)/,
    );
    await expect(
      overwriteFiles({ io, catalog: t.catalog, id: t.id, deleteFiles: [`${a.filePath}.gone`], addFiles: [await dataFile(t, 0, 5)], replace: true }),
    ).rejects.toThrow(/not live/);
    expect((await loadTable({ io, catalog: t.catalog, id: t.id })).metadataLocation).toBe(before.metadataLocation);
    const ok = await overwriteFiles({ io, catalog: t.catalog, id: t.id, deleteFiles: [a.filePath], addFiles: [await dataFile(t, 0, 5)], replace: true });
    const snap = currentSnapshot((await loadTable({ io, catalog: t.catalog, id: t.id })).metadata)!;
    expect(snap['snapshot-id']).toBe(ok.snapshotId);
    expect(snap.summary).toMatchObject({ operation: 'replace', 'total-records': '5', 'added-records': '5', 'deleted-records': '5' });
  });
});

describe('incremental reads across maintenance (planChanges)', () => {
  it('a replace adds nothing new for a reader past the originals; from the start after expiry = live files', async () => {
    const t = await table('incremental');
    const a = await dataFile(t, 0, 2);
    const b = await dataFile(t, 0, 3);
    const s1 = await appendFiles({ io, catalog: t.catalog, id: t.id, files: [a] });
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [b] });
    const s2 = (await loadTable({ io, catalog: t.catalog, id: t.id })).metadata['current-snapshot-id']!;
    const c = await dataFile(t, 0, 5);
    await overwriteFiles({ io, catalog: t.catalog, id: t.id, deleteFiles: [a.filePath, b.filePath], addFiles: [c], replace: true });
    const d = await dataFile(t, 1, 1);
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [d] });
    let { metadata } = await loadTable({ io, catalog: t.catalog, id: t.id });
    // Past the originals: only the later append (the compacted file holds rows already seen).
    expect(paths((await planChanges({ io, metadata, fromSnapshotId: s2 })).added)).toEqual([d.filePath]);
    expect(paths((await planChanges({ io, metadata, fromSnapshotId: s1.snapshotId })).added)).toEqual(paths([b, d]));
    expect(paths((await planChanges({ io, metadata, fromSnapshotId: null })).added)).toEqual(paths([a, b, d]));
    await expireSnapshots({ io, catalog: t.catalog, id: t.id, retainLast: 2 });
    ({ metadata } = await loadTable({ io, catalog: t.catalog, id: t.id }));
    // The appends of a and b are gone from history: from the start means every live file, once.
    expect(paths((await planChanges({ io, metadata, fromSnapshotId: null })).added)).toEqual(paths([c, d]));
    await expect(planChanges({ io, metadata, fromSnapshotId: s2 })).rejects.toThrow(/not an ancestor/);
  });
});

describe('rewriteManifests', () => {
  it('merges one-manifest-per-append into few, same live files, operation replace', async () => {
    const t = await table('rewrite');
    const files: DataFile[] = [];
    for (let i = 0; i < 12; i++) {
      const f = await dataFile(t, i % 3, i + 1);
      files.push(f);
      await appendFiles({ io, catalog: t.catalog, id: t.id, files: [f] });
    }
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    expect(await readManifestList(io, currentSnapshot(before.metadata)!)).toHaveLength(12);
    const res = await rewriteManifests({ io, catalog: t.catalog, id: t.id, targetManifestEntries: 5 });
    expect(res.alreadyCommitted).toBe(false);
    const after = await loadTable({ io, catalog: t.catalog, id: t.id });
    const snap = currentSnapshot(after.metadata)!;
    expect(snap.summary.operation).toBe('replace');
    expect(snap.summary['total-records']).toBe(String((12 * 13) / 2));
    const manifests = await readManifestList(io, snap);
    expect(manifests).toHaveLength(3);
    expect(manifests.reduce((n, m) => n + m.existingFilesCount, 0)).toBe(12);
    expect(paths(await planFiles({ io, metadata: after.metadata }))).toEqual(paths(files));
    // Already compact: nothing written.
    const again = await rewriteManifests({ io, catalog: t.catalog, id: t.id, targetManifestEntries: 5 });
    expect(again).toEqual({ snapshotId: snap['snapshot-id'], metadataLocation: after.metadataLocation, alreadyCommitted: true });
  });
});

describe('removeOrphanFiles', () => {
  it('deletes old unreferenced files only; the table stays complete', async () => {
    const t = await table('orphans');
    const a = await dataFile(t, 0, 1);
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [a] });
    const b = await dataFile(t, 1, 1);
    await appendFiles({ io, catalog: t.catalog, id: t.id, files: [b] });
    const base = fileURLToPath(t.location);
    const oldOrphan = join(base, 'data', 'crashed-writer.parquet');
    const youngOrphan = join(base, 'data', 'in-flight.parquet');
    const oldMeta = join(base, 'metadata', 'v99.metadata.json');
    writeFileSync(oldOrphan, 'x');
    writeFileSync(youngOrphan, 'x');
    writeFileSync(oldMeta, '{}');
    // Everything but the in-flight file is made old (referenced files too: age alone must not doom them).
    const past = new Date(Date.now() - 3_600_000);
    const all = await io.list(`${t.location}/`);
    for (const o of all) if (fileURLToPath(o.uri) !== youngOrphan) utimesSync(fileURLToPath(o.uri), past, past);

    const dry = await removeOrphanFiles({ io, catalog: t.catalog, id: t.id, olderThanMs: 60_000, dryRun: true });
    expect(dry.orphans).toEqual([fileUri(oldOrphan), fileUri(oldMeta)].sort());
    expect(dry.deleted).toEqual([]);
    expect(existsSync(oldOrphan)).toBe(true);
    const res = await removeOrphanFiles({ io, catalog: t.catalog, id: t.id, olderThanMs: 60_000 });
    expect(res.deleted).toEqual(dry.orphans);
    expect(existsSync(oldOrphan)).toBe(false);
    expect(existsSync(youngOrphan)).toBe(true);
    const now = await loadTable({ io, catalog: t.catalog, id: t.id });
    expect(paths(await planFiles({ io, metadata: now.metadata }))).toEqual(paths([a, b]));
    // Older snapshots stay complete too (time travel).
    expect(paths(await planFiles({ io, metadata: now.metadata, snapshotId: now.metadata.snapshots[0]!['snapshot-id'] }))).toEqual([a.filePath]);
    expect(existsSync(join(base, 'metadata', 'version-hint.text'))).toBe(true);
    for (const e of now.metadata['metadata-log']) expect(existsSync(fileURLToPath(e['metadata-file']))).toBe(true);
  });
});
