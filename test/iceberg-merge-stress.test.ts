// Manifest merging under concurrent writers, against real MinIO (writer key) and PostgreSQL: two writer processes
// (two Lakes: their own catalog objects and pools, so their group commits race through the compare-and-swap) with 4
// writer loops each append one file at a time to a table that merges at 3 manifests, so merges fall inside group
// chains and into attempts retried after a lost swap. `bench/profile-appends.ts 300 300 8` failed every run this way before the fix
// ("manifest listed in the manifest list does not exist" while merging). Every append must land once, and every
// snapshot of the history must read back: a committed list naming a missing manifest fails the planning below.
import { join } from 'node:path';
import { COMMIT_ID_SUMMARY_KEY, ancestors, appendFiles, createTable, loadTable, planFiles, readManifestList, type DataFile, type TableIdentifier } from '@atoll/iceberg';
import { rawSchema, tableLocation, writeDataFileForTable, type SchemaColumn } from '@atoll/lake';
import { describe, expect, it } from 'vitest';
import { lakeFixture, readTable, uniqueName, writeCsv } from './support/lake-helpers.js';

const PROCESSES = 2;
const LOOPS = 4;
const FILES = 64;
const columns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'k', type: 'string' },
  { name: 'iteration', type: 'long' },
];

describe('manifest merging with concurrent writers', () => {
  it(`${PROCESSES} processes × ${LOOPS} writers, ${FILES} appends merging at 3 manifests: every append once, exact rows, every snapshot readable`, async () => {
    await using a = await lakeFixture({ poolSize: 6 });
    await using b = await lakeFixture({ poolSize: 6 });
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('merge_stress') };
    const location = tableLocation('atoll-lake', id);
    await createTable({ io: a.lake.io, catalog: a.lake.catalog, id, location, schema: rawSchema(columns), properties: { 'commit.manifest.min-count-to-merge': '3' } });
    const tags = Array.from({ length: FILES }, (_, i) => `f${i}`);
    const rowsOf = (i: number): number => (i % 3) + 1;
    // One DuckDB COPY per file, a few at a time (before the timed part: the appends are what is under test).
    const files: DataFile[] = new Array<DataFile>(FILES);
    for (let i = 0; i < FILES; i += 4) {
      await Promise.all(
        tags.slice(i, i + 4).map(async (tag, j) => {
          const dir = join(a.workDir, tag);
          const input = await writeCsv(dir, tag, rowsOf(i + j));
          files[i + j] = (await writeDataFileForTable({ lake: a.lake, id, location, columns, input, format: 'csv', workDir: dir, memoryLimit: '128MB' })).dataFile;
        }),
      );
    }

    const lakes = [a.lake, b.lake];
    // Lost swaps (the real PostgreSQL compare-and-swap answering false): the retried attempts merge again.
    let lost = 0;
    for (const lake of lakes) {
      const swap = lake.catalog.compareAndSwap.bind(lake.catalog);
      lake.catalog.compareAndSwap = async (...args) => {
        const ok = await swap(...args);
        if (!ok) lost++;
        return ok;
      };
    }
    const writers = PROCESSES * LOOPS;
    const results = await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const lake = lakes[w % PROCESSES]!;
        const mine = [];
        for (let c = w; c < FILES; c += writers) mine.push(await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [files[c]!], commitId: `m:${c}` }));
        return mine;
      }),
    );
    expect(results.flat().every((r) => !r.alreadyCommitted)).toBe(true);
    expect(lost).toBeGreaterThan(0);

    const { metadata } = await loadTable({ io: a.lake.io, catalog: a.lake.catalog, id });
    const history = ancestors(metadata);
    expect(history.map((s) => s.summary[COMMIT_ID_SUMMARY_KEY]).sort()).toEqual(tags.map((_, i) => `m:${i}`).sort());
    // Merges happened, and both processes committed groups of several appends (one swap, one metadata version each).
    expect(history.filter((s) => Number(s.summary['manifests-replaced'] ?? 0) > 0).length).toBeGreaterThan(3);
    const perVersion = new Map<string, number>();
    for (const r of results.flat()) perVersion.set(r.metadataLocation, (perVersion.get(r.metadataLocation) ?? 0) + 1);
    expect([...perVersion.values()].some((n) => n > 1)).toBe(true);
    // Each snapshot reads exactly the files committed up to it: every manifest any committed list names exists.
    const committedBefore = new Set<string>();
    for (const snap of [...history].reverse()) {
      const commitId = snap.summary[COMMIT_ID_SUMMARY_KEY]!;
      committedBefore.add(files[Number(commitId.slice(2))]!.filePath);
      const planned = await planFiles({ io: a.lake.io, metadata, snapshotId: snap['snapshot-id'] });
      expect(planned.map((f) => f.filePath).sort()).toEqual([...committedBefore].sort());
    }
    // Never more than min-count small manifests carried into a snapshot.
    const lists = await Promise.all(history.map((s) => readManifestList(a.lake.io, s)));
    expect(Math.max(...lists.map((l) => l.length))).toBeLessThanOrEqual(3);

    // What a reader sees: every row once.
    const state = await readTable(b.lake, id, b.workDir);
    expect(state.records).toBe(tags.reduce((n, _t, i) => n + rowsOf(i), 0));
    expect(state.keys).toEqual(tags.flatMap((t, i) => Array.from({ length: rowsOf(i) }, (_, j) => `${t}-${j}`)).sort());
  });
});
