// Crash safety of maintenance and evolution: the process "dies" at every object write/delete in turn (that call and
// every later one fail, so no cleanup runs); the table must then be the old or the new state, complete and readable.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCatalogStore } from './catalog-store.js';
import type { TableIdentifier } from './catalog-store.js';
import { appendFiles, createTable, loadTable, newDataFileUri, overwriteFiles, planFiles, readManifestEntries, readManifestList } from './index.js';
import { CorruptMetadataError } from './errors.js';
import { updateSchema } from './evolution.js';
import type { ObjectIO, ObjectListing } from './io.js';
import { LocalFileIO, fileUri } from './io.js';
import type { DataFile } from './manifest.js';
import { currentSchema, currentSnapshot } from './metadata.js';
import { expireSnapshots, removeOrphanFiles, rewriteManifests } from './maintenance.js';
import { icebergSchemaFromColumns } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'atoll-maint-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const healthy = new LocalFileIO();
const schema = icebergSchemaFromColumns([{ name: 'id', type: 'long', required: true }]);

class Crash extends Error {}

/** Fails the n-th mutating call and everything after it, like a process killed at that point. */
class CrashingIO implements ObjectIO {
  private mutations = 0;
  dead = false;
  constructor(private readonly crashAt: number) {}
  private step(): void {
    if (this.dead || ++this.mutations === this.crashAt) {
      this.dead = true;
      throw new Crash(`crashed at mutation ${this.crashAt}`);
    }
  }
  async read(uri: string): Promise<Uint8Array> {
    if (this.dead) throw new Crash('dead');
    return healthy.read(uri);
  }
  async write(uri: string, bytes: Uint8Array, opts?: { ifNoneMatch?: boolean }): Promise<void> {
    this.step();
    return healthy.write(uri, bytes, opts);
  }
  async exists(uri: string): Promise<boolean> {
    if (this.dead) throw new Crash('dead');
    return healthy.exists(uri);
  }
  async delete(uri: string): Promise<void> {
    this.step();
    return healthy.delete(uri);
  }
  async list(prefix: string): Promise<ObjectListing[]> {
    if (this.dead) throw new Crash('dead');
    return healthy.list(prefix);
  }
}

let seq = 0;
async function setup(): Promise<{ catalog: MemoryCatalogStore; id: TableIdentifier; files: DataFile[] }> {
  const catalog = new MemoryCatalogStore();
  const id = { namespace: ['f'], name: `t${seq++}` };
  await createTable({ io: healthy, catalog, id, location: fileUri(join(dir, id.name)), schema });
  const files: DataFile[] = [];
  for (let i = 0; i < 4; i++) {
    const { metadata } = await loadTable({ io: healthy, catalog, id });
    const uri = newDataFileUri(metadata);
    await healthy.write(uri, new Uint8Array(16));
    const f: DataFile = { filePath: uri, fileFormat: 'PARQUET', partition: {}, recordCount: i + 1, fileSizeInBytes: 16 };
    files.push(f);
    await appendFiles({ io: healthy, catalog, id, files: [f] });
  }
  return { catalog, id, files };
}

/** Every snapshot of the current metadata can be planned and all its files exist. */
async function assertComplete(catalog: MemoryCatalogStore, id: TableIdentifier): Promise<string[]> {
  const { metadata } = await loadTable({ io: healthy, catalog, id });
  for (const snap of metadata.snapshots) {
    for (const m of await readManifestList(healthy, snap)) await readManifestEntries(healthy, metadata, m);
    for (const f of await planFiles({ io: healthy, metadata, snapshotId: snap['snapshot-id'] })) expect(existsSync(fileURLToPath(f.filePath))).toBe(true);
  }
  return (await planFiles({ io: healthy, metadata })).map((f) => f.filePath).sort();
}

type Op = (io: ObjectIO, catalog: MemoryCatalogStore, id: TableIdentifier, files: DataFile[]) => Promise<unknown>;

const ops: Array<[string, Op, (files: DataFile[]) => string[]]> = [
  ['expireSnapshots', (io, catalog, id) => expireSnapshots({ io, catalog, id, retainLast: 1 }), (files) => files.map((f) => f.filePath)],
  ['rewriteManifests', (io, catalog, id) => rewriteManifests({ io, catalog, id }), (files) => files.map((f) => f.filePath)],
  ['updateSchema', (io, catalog, id) => updateSchema({ io, catalog, id, changes: [{ op: 'add-column', name: 'x', type: 'string' }] }), (files) => files.map((f) => f.filePath)],
  [
    'overwriteFiles(replace)',
    async (io, catalog, id, files) => {
      const { metadata } = await loadTable({ io: healthy, catalog, id });
      const uri = newDataFileUri(metadata);
      await healthy.write(uri, new Uint8Array(16));
      return overwriteFiles({ io, catalog, id, deleteFiles: files.slice(0, 2).map((f) => f.filePath), addFiles: [{ filePath: uri, fileFormat: 'PARQUET', partition: {}, recordCount: 3, fileSizeInBytes: 16 }], replace: true });
    },
    (files) => files.map((f) => f.filePath),
  ],
];

describe('a crash at every write/delete leaves the old or the new state', () => {
  it.each(ops)('%s', async (_name, op) => {
    let crashes = 0;
    for (let k = 1; k < 50; k++) {
      const t = await setup();
      const before = await loadTable({ io: healthy, catalog: t.catalog, id: t.id });
      const rowsBefore = Number(currentSnapshot(before.metadata)!.summary['total-records']);
      const io = new CrashingIO(k);
      let crashed = false;
      try {
        await op(io, t.catalog, t.id, t.files);
      } catch (err) {
        if (!(err instanceof Crash)) throw err;
        crashed = true;
      }
      // Best-effort deletes swallow their errors, so a crash there shows only as a dead IO.
      crashed ||= io.dead;
      const after = await loadTable({ io: healthy, catalog: t.catalog, id: t.id });
      // Old state (pointer unchanged) or new state; never a pointer at a broken file.
      await assertComplete(t.catalog, t.id);
      expect(Number(currentSnapshot(after.metadata)!.summary['total-records'])).toBe(rowsBefore);
      // Left-over files of the crash are orphans that removal can clear without breaking anything.
      await removeOrphanFiles({ io: healthy, catalog: t.catalog, id: t.id, olderThanMs: 0 });
      await assertComplete(t.catalog, t.id);
      if (!crashed) break;
      crashes++;
    }
    expect(crashes).toBeGreaterThan(0);
  }, 60_000);
});

describe('corrupt metadata in storage', () => {
  it('a corrupt manifest makes maintenance fail clearly and change nothing', async () => {
    const t = await setup();
    const before = await loadTable({ io: healthy, catalog: t.catalog, id: t.id });
    const [m] = await readManifestList(healthy, currentSnapshot(before.metadata)!);
    await healthy.write(m!.manifestPath, new Uint8Array(Buffer.from('not avro')));
    await expect(rewriteManifests({ io: healthy, catalog: t.catalog, id: t.id })).rejects.toBeInstanceOf(CorruptMetadataError);
    await expect(expireSnapshots({ io: healthy, catalog: t.catalog, id: t.id, deleteFiles: true })).rejects.toBeInstanceOf(CorruptMetadataError);
    const after = await loadTable({ io: healthy, catalog: t.catalog, id: t.id });
    // Both read every manifest before committing: the table is exactly as before and no file was deleted.
    expect(after.metadataLocation).toBe(before.metadataLocation);
    for (const f of t.files) expect(existsSync(fileURLToPath(f.filePath))).toBe(true);
    expect(currentSchema(after.metadata)).toEqual(currentSchema(before.metadata));
    await expect(removeOrphanFiles({ io: healthy, catalog: t.catalog, id: t.id, olderThanMs: 0 })).rejects.toBeInstanceOf(CorruptMetadataError);
    for (const f of t.files) expect(existsSync(fileURLToPath(f.filePath))).toBe(true);
  });
});
