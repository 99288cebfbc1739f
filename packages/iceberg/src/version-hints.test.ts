// version-hint.text off the commit's critical path (versionHint: 'background') against MemoryCatalogStore + a local
// ObjectIO whose hint writes can be held: the commit returns first, writes coalesce, the hint never goes back.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCatalogStore } from './catalog-store.js';
import { appendFiles, createTable, flushVersionHints, loadTable, onVersionHintFailure, overwriteFiles, planFiles } from './index.js';
import { LocalFileIO, fileUri } from './io.js';
import type { DataFile } from './manifest.js';
import { icebergSchemaFromColumns } from './schema.js';
import { scheduleVersionHint } from './version-hints.js';

const schema = icebergSchemaFromColumns([{ name: 'id', type: 'long', required: true }]);
const id = { namespace: ['raw'], name: 'events' };

/** Local files, except that writes of version-hint.text can be held until released, or made to fail. */
class HintGateIO extends LocalFileIO {
  /** The contents of every hint write that completed, in order. */
  readonly hints: string[] = [];
  started = 0;
  failHints = false;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise<void>((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = null;
    this.open = null;
  }

  override async write(uri: string, bytes: Uint8Array, opts?: { ifNoneMatch?: boolean }): Promise<void> {
    if (!uri.endsWith('/version-hint.text')) return super.write(uri, bytes, opts);
    this.started++;
    if (this.gate) await this.gate;
    if (this.failHints) throw new Error('the store refused the hint (503 Slow Down)');
    await super.write(uri, bytes, opts);
    this.hints.push(Buffer.from(bytes).toString('utf8'));
  }
}

let dir: string;
let io: HintGateIO;
let catalog: MemoryCatalogStore;

function dataFile(name: string, records = 1): DataFile {
  return { filePath: fileUri(join(dir, 'data', `${name}.parquet`)), fileFormat: 'PARQUET', partition: {}, recordCount: records, fileSizeInBytes: records * 100 };
}

const hintOnDisk = (): string => readFileSync(join(dir, 'events', 'metadata', 'version-hint.text'), 'utf8');
const currentVersion = async (): Promise<string> => /v(\d+)\.metadata\.json$/.exec((await catalog.load(id))!.metadataLocation)![1]!;

/** Fails the test instead of hanging when `p` waits for a held write. */
function within<T>(p: Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ib-hint-'));
  io = new HintGateIO();
  catalog = new MemoryCatalogStore();
  await createTable({ io, catalog, id, location: fileUri(join(dir, 'events')), schema });
  io.hints.length = 0;
  io.started = 0;
});

afterEach(async () => {
  io.release();
  onVersionHintFailure(null);
  await flushVersionHints();
});

describe("versionHint: 'background'", () => {
  it('the commit returns while its hint write is still held; the catalog already names the new version', async () => {
    io.hold();
    const r = await within(appendFiles({ io, catalog, id, files: [dataFile('a', 3)], commitId: 'a', versionHint: 'background' }));
    expect(r.metadataLocation).toMatch(/v2\.metadata\.json$/);
    expect(await currentVersion()).toBe('2');
    expect((await planFiles({ io, metadata: (await loadTable({ io, catalog, id })).metadata })).map((f) => f.recordCount)).toEqual([3]);
    expect(hintOnDisk()).toBe('1');
    io.release();
    await flushVersionHints();
    expect(hintOnDisk()).toBe('2');
  });

  it("the default ('await') still writes the hint before the commit returns", async () => {
    io.hold();
    const pending = appendFiles({ io, catalog, id, files: [dataFile('a')] });
    await expect(within(pending, 300)).rejects.toThrow(/still waiting/);
    io.release();
    await pending;
    expect(hintOnDisk()).toBe('2');
  });

  it('commits while a hint write is held only mark the table: at most one more write, naming the final version', async () => {
    io.hold();
    for (let i = 0; i < 10; i++) await within(appendFiles({ io, catalog, id, files: [dataFile(`c${i}`)], commitId: `c${i}`, versionHint: 'background' }));
    expect(await currentVersion()).toBe('11');
    // Give the background writer every chance to start more writes than it should.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(io.started).toBe(1);
    io.release();
    await flushVersionHints();
    expect(io.hints.length).toBeLessThanOrEqual(2);
    expect(io.hints.at(-1)).toBe('11');
    expect(hintOnDisk()).toBe('11');
  });

  it('never writes a version older than one it wrote: concurrent group commits and a late, older request', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => appendFiles({ io, catalog, id, files: [dataFile(`g${i}`)], commitId: `g${i}`, versionHint: 'background' })));
    for (let i = 0; i < 5; i++) await appendFiles({ io, catalog, id, files: [dataFile(`s${i}`)], versionHint: 'background' });
    expect(new Set(results.map((r) => r.snapshotId)).size).toBe(20);
    io.hold();
    await appendFiles({ io, catalog, id, files: [dataFile('last')], versionHint: 'background' });
    const last = (await catalog.load(id))!.metadataLocation;
    // A landed commit reported out of order (an older version queued after a newer one) is not written.
    scheduleVersionHint(io, { catalog, id, location: fileUri(join(dir, 'events')), metadataLocation: last.replace(/v\d+\.metadata\.json$/, 'v2.metadata.json'), pointerSeen: true });
    io.release();
    await flushVersionHints();
    const written = io.hints.map(Number);
    expect(written).toEqual([...written].sort((a, b) => a - b));
    expect(String(written.at(-1))).toBe(await currentVersion());
    expect(hintOnDisk()).toBe(await currentVersion());
  });

  it('flushVersionHints waits for a held write (and for the write the coalesced commits need)', async () => {
    io.hold();
    await appendFiles({ io, catalog, id, files: [dataFile('a')], versionHint: 'background' });
    await appendFiles({ io, catalog, id, files: [dataFile('b')], versionHint: 'background' });
    let flushed = false;
    const flush = flushVersionHints().then(() => (flushed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(flushed).toBe(false);
    io.release();
    await within(flush);
    expect(hintOnDisk()).toBe('3');
  });

  it('a failing hint write does not fail the commit; it is reported, and the next commit puts the hint right', async () => {
    const failures: Array<{ table: string; message: string }> = [];
    onVersionHintFailure((err, table) => failures.push({ table, message: err.message }));
    io.failHints = true;
    const r = await appendFiles({ io, catalog, id, files: [dataFile('a', 2)], commitId: 'a', versionHint: 'background' });
    await overwriteFiles({ io, catalog, id, deleteFiles: [dataFile('a', 2).filePath], addFiles: [dataFile('a2', 2)], versionHint: 'background' });
    await flushVersionHints();
    expect(r.alreadyCommitted).toBe(false);
    expect(await currentVersion()).toBe('3');
    expect(failures).toEqual([
      { table: 'raw.events', message: 'the store refused the hint (503 Slow Down)' },
      { table: 'raw.events', message: 'the store refused the hint (503 Slow Down)' },
    ]);
    expect(hintOnDisk()).toBe('1');
    io.failHints = false;
    await appendFiles({ io, catalog, id, files: [dataFile('b')], versionHint: 'background' });
    await flushVersionHints();
    expect(hintOnDisk()).toBe('4');
    // In the default mode the same failure is the caller's (today's behaviour): the commit landed, the call throws.
    io.failHints = true;
    await expect(appendFiles({ io, catalog, id, files: [dataFile('c')], commitId: 'c' })).rejects.toThrow(/503/);
    expect(await currentVersion()).toBe('5');
  });

  it("a group with one 'await' append waits for the hint; every append of the group lands", async () => {
    io.hold();
    const background = appendFiles({ io, catalog, id, files: [dataFile('b')], versionHint: 'background' });
    const waiting = appendFiles({ io, catalog, id, files: [dataFile('w')] });
    await expect(within(Promise.all([background, waiting]), 300)).rejects.toThrow(/still waiting/);
    io.release();
    const [b, w] = await Promise.all([background, waiting]);
    expect(b.metadataLocation).toBe(w.metadataLocation);
    expect(hintOnDisk()).toBe(await currentVersion());
  });
});
