// Requirements and updates (the REST spec's types) and commits of them through the engine on a memory catalog,
// including the refusal of snapshots that reference files outside the table.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCatalogStore } from './catalog-store.js';
import { commitTableUpdates, isUnderLocation } from './commit.js';
import { CommitConflictError, InvalidInputError } from './errors.js';
import { LocalFileIO, fileUri } from './io.js';
import { encodeManifestList } from './manifest.js';
import type { TableMetadata } from './metadata.js';
import { currentSnapshot, parseTableMetadata, recordPreviousMetadata, serializeTableMetadata } from './metadata.js';
import { readManifestList } from './scan.js';
import { icebergSchemaFromColumns } from './schema.js';
import { appendFiles } from './snapshot-producers.js';
import { createTable, loadTable } from './table-lifecycle.js';
import type { TableRequirement, TableUpdate } from './updates.js';
import { applyUpdates, checkSchemaEvolution, failedRequirement, parseTableRequirement, parseTableUpdate } from './updates.js';

const BIG_ID = 9_007_199_254_740_993n; // above 2^53: must survive exactly

function baseMetadata(location = 's3://lake/ns/t'): TableMetadata {
  return parseTableMetadata(
    JSON.stringify({
      'format-version': 2,
      'table-uuid': '11111111-1111-4111-8111-111111111111',
      location,
      'last-sequence-number': 0,
      'last-updated-ms': 1_700_000_000_000,
      'last-column-id': 2,
      schemas: [{ type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'int', required: true }, { id: 2, name: 'name', type: 'string', required: false }] }],
      'current-schema-id': 0,
      'partition-specs': [{ 'spec-id': 0, fields: [] }],
      'default-spec-id': 0,
      'last-partition-id': 999,
      properties: {},
      'current-snapshot-id': -1,
      snapshots: [],
      'snapshot-log': [],
      'metadata-log': [],
      'sort-orders': [{ 'order-id': 0, fields: [] }],
      'default-sort-order-id': 0,
      refs: {},
    }),
    'test',
  );
}

const update = (json: Record<string, unknown>): TableUpdate => parseTableUpdate(json);
const req = (json: Record<string, unknown>): TableRequirement => parseTableRequirement(json);
const addSnapshotJson = (id: bigint, seq: number, location = 's3://lake/ns/t') => ({
  action: 'add-snapshot',
  snapshot: { 'snapshot-id': id, 'sequence-number': seq, 'timestamp-ms': 1_700_000_001_000, 'manifest-list': `${location}/metadata/snap-${id}.avro`, summary: { operation: 'append' } } as Record<string, unknown>,
});
const addSnapshot = (id: bigint, seq: number, location = 's3://lake/ns/t') => update(addSnapshotJson(id, seq, location));
const setMain = (id: bigint) => update({ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id });
const opts = { previousMetadataLocation: 's3://lake/ns/t/metadata/v1.metadata.json', nowMs: 1_700_000_002_000 };
const commitOf = (base: TableMetadata, updates: TableUpdate[]): TableMetadata => recordPreviousMetadata(base, applyUpdates(base, updates), opts);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('requirements', () => {
  it('assert-ref-snapshot-id compares exact 64-bit ids, null meaning "no such ref"', () => {
    const m = applyUpdates(baseMetadata(), [addSnapshot(BIG_ID, 1), setMain(BIG_ID)]);
    expect(failedRequirement(m, [req({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': BIG_ID })])).toBeNull();
    expect(failedRequirement(m, [req({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': BIG_ID - 1n })])).toBe(`Requirement failed: branch main has changed: expected id ${BIG_ID - 1n} != ${BIG_ID}`);
    expect(failedRequirement(m, [req({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null })])).toBe('Requirement failed: branch main was created concurrently');
    expect(failedRequirement(baseMetadata(), [req({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null })])).toBeNull();
  });

  it('assert-table-uuid, assert-create and id assertions; unknown types are invalid input', () => {
    const m = baseMetadata();
    expect(failedRequirement(m, [req({ type: 'assert-table-uuid', uuid: m['table-uuid'] })])).toBeNull();
    expect(failedRequirement(m, [req({ type: 'assert-table-uuid', uuid: '22222222-2222-4222-8222-222222222222' })])).toBe(
      `Requirement failed: UUID does not match: expected ${m['table-uuid']} != 22222222-2222-4222-8222-222222222222`,
    );
    expect(failedRequirement(m, [req({ type: 'assert-create' })])).toBe('Requirement failed: table already exists');
    // The reference implementation's words, which clients (and Iceberg's compatibility kit) match on.
    expect(failedRequirement(m, [req({ type: 'assert-current-schema-id', 'current-schema-id': 1 })])).toBe('Requirement failed: current schema changed: expected id 1 != 0');
    expect(failedRequirement(m, [req({ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 1 })])).toBe('Requirement failed: last assigned field id changed: expected id 1 != 2');
    expect(failedRequirement(m, [req({ type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 1000 })])).toBe('Requirement failed: last assigned partition id changed: expected id 1000 != 999');
    expect(failedRequirement(m, [req({ type: 'assert-default-spec-id', 'default-spec-id': 1 })])).toBe('Requirement failed: default partition spec changed: expected id 1 != 0');
    expect(failedRequirement(m, [req({ type: 'assert-default-sort-order-id', 'default-sort-order-id': 1 })])).toBe('Requirement failed: default sort order changed: expected id 1 != 0');
    expect(failedRequirement(m, [req({ type: 'assert-ref-snapshot-id', ref: 'audit', 'snapshot-id': 5 })])).toBe('Requirement failed: branch or tag audit is missing, expected 5');
    expect(failedRequirement(m, [req({ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 2 })])).toBeNull();
    expect(thrown(() => req({ type: 'assert-something' }))).toBeInstanceOf(InvalidInputError);
    expect(thrown(() => req({ type: 'assert-current-schema-id', 'current-schema-id': 'one' }))).toBeInstanceOf(InvalidInputError);
  });
});

describe('updates', () => {
  it('add-snapshot + set-snapshot-ref main make the snapshot current; the commit logs the previous metadata file', () => {
    const m = commitOf(baseMetadata(), [addSnapshot(BIG_ID, 1), setMain(BIG_ID)]);
    expect(m['current-snapshot-id']).toBe(BIG_ID);
    expect(m.refs.main).toEqual({ 'snapshot-id': BIG_ID, type: 'branch' });
    expect(m['last-sequence-number']).toBe(1);
    expect(m['snapshot-log']).toEqual([{ 'timestamp-ms': 1_700_000_001_000, 'snapshot-id': BIG_ID }]);
    expect(m['metadata-log']).toEqual([{ 'timestamp-ms': 1_700_000_000_000, 'metadata-file': opts.previousMetadataLocation }]);
    expect(m['last-updated-ms']).toBe(opts.nowMs);
    // The result is valid metadata for the strict reader, ids intact.
    expect(parseTableMetadata(serializeTableMetadata(m), 'round trip')['current-snapshot-id']).toBe(BIG_ID);
  });

  it('refuses a stale sequence number (conflict), a foreign manifest list, a missing snapshot for a ref, a move, an unknown action', () => {
    const m = applyUpdates(baseMetadata(), [addSnapshot(5n, 1), setMain(5n)]);
    expect(thrown(() => applyUpdates(m, [addSnapshot(6n, 1)]))).toBeInstanceOf(CommitConflictError);
    expect(thrown(() => applyUpdates(m, [addSnapshot(6n, 2, 's3://lake/other')]))).toBeInstanceOf(InvalidInputError);
    expect(thrown(() => applyUpdates(m, [setMain(7n)]))).toBeInstanceOf(InvalidInputError);
    expect(thrown(() => applyUpdates(m, [update({ action: 'set-location', location: 's3://lake/elsewhere' })]))).toBeInstanceOf(InvalidInputError);
    expect(thrown(() => update({ action: 'rename-everything' }))).toBeInstanceOf(InvalidInputError);
  });

  it('schema evolution: add a column and widen int → long; never narrow, retype or add a required column', () => {
    const m = baseMetadata();
    const evolved = applyUpdates(m, [
      update({ action: 'add-schema', schema: { type: 'struct', 'schema-id': 1, fields: [{ id: 1, name: 'id', type: 'long', required: true }, { id: 2, name: 'full_name', type: 'string', required: false }, { id: 3, name: 'age', type: 'int', required: false }] } }),
      update({ action: 'set-current-schema', 'schema-id': -1 }),
    ]);
    expect(evolved['current-schema-id']).toBe(1);
    expect(evolved['last-column-id']).toBe(3);
    const long = evolved.schemas[1]!;
    expect(() => checkSchemaEvolution(long, { ...long, fields: [{ id: 1, name: 'id', type: 'int', required: true }] })).toThrow(/long to int/);
    expect(() => checkSchemaEvolution(long, { ...long, fields: [{ id: 2, name: 'full_name', type: 'long', required: false }] })).toThrow(/string to long/);
    expect(() => checkSchemaEvolution(long, { ...long, fields: [...long.fields, { id: 4, name: 'x', type: 'string', required: true }] })).toThrow(/optional/);
    expect(() => checkSchemaEvolution(long, { ...long, fields: [{ id: 2, name: 'full_name', type: 'string', required: true }] })).toThrow(/required/);
  });

  it('a required column or a retype is refused while main serves earlier rows, allowed on an empty table and in a replace', () => {
    const required = { type: 'struct', 'schema-id': 1, fields: [{ id: 1, name: 'id', type: 'string', required: true }, { id: 3, name: 'n', type: 'int', required: true }] };
    const swap = [update({ action: 'add-schema', schema: required }), update({ action: 'set-current-schema', 'schema-id': -1 })];
    // No snapshot: no rows to misread.
    expect(applyUpdates(baseMetadata(), swap)['current-schema-id']).toBe(1);
    const withData = applyUpdates(baseMetadata(), [addSnapshot(5n, 1), setMain(5n)]);
    expect(thrown(() => applyUpdates(withData, swap))).toBeInstanceOf(InvalidInputError);
    // An append on top of the old rows still serves them.
    expect(thrown(() => applyUpdates(withData, [...swap, update({ ...addSnapshotJson(6n, 2), snapshot: { ...addSnapshotJson(6n, 2).snapshot, 'parent-snapshot-id': 5 } }), setMain(6n)]))).toBeInstanceOf(InvalidInputError);
    // A replace (what Iceberg's replace transactions send): main removed, then optionally a fresh snapshot without parent.
    const replaced = applyUpdates(withData, [update({ action: 'remove-snapshot-ref', 'ref-name': 'main' }), ...swap]);
    expect(replaced['current-schema-id']).toBe(1);
    expect(replaced['current-snapshot-id']).toBeNull();
    const rtas = applyUpdates(withData, [update({ action: 'remove-snapshot-ref', 'ref-name': 'main' }), ...swap, addSnapshot(7n, 2), setMain(7n)]);
    expect(rtas['current-snapshot-id']).toBe(7n);
  });

  it('add-sort-order: fields must name columns with a known transform; an equal order reuses its id', () => {
    const order = { 'order-id': 5, fields: [{ transform: 'identity', 'source-id': 1, direction: 'asc', 'null-order': 'nulls-first' }] };
    const sorted = applyUpdates(baseMetadata(), [update({ action: 'add-sort-order', 'sort-order': order }), update({ action: 'set-default-sort-order', 'sort-order-id': -1 })]);
    expect(sorted['default-sort-order-id']).toBe(1);
    const again = applyUpdates(sorted, [update({ action: 'add-sort-order', 'sort-order': order }), update({ action: 'set-default-sort-order', 'sort-order-id': -1 })]);
    expect(again['sort-orders']).toHaveLength(2);
    expect(applyUpdates(again, [update({ action: 'add-sort-order', 'sort-order': { fields: [] } }), update({ action: 'set-default-sort-order', 'sort-order-id': -1 })])['default-sort-order-id']).toBe(0);
    expect(thrown(() => applyUpdates(baseMetadata(), [update({ action: 'add-sort-order', 'sort-order': { fields: [{ ...order.fields[0], 'source-id': 9 }] } })]))).toBeInstanceOf(InvalidInputError);
    expect(thrown(() => applyUpdates(baseMetadata(), [update({ action: 'add-sort-order', 'sort-order': { fields: [{ ...order.fields[0], transform: 'shuffle' }] } })]))).toBeInstanceOf(InvalidInputError);
    expect(thrown(() => update({ action: 'add-sort-order', 'sort-order': { fields: [{ ...order.fields[0], direction: 'up' }] } }))).toBeInstanceOf(InvalidInputError);
  });

  it('set-properties / remove-properties; location properties are refused', () => {
    const m = applyUpdates(baseMetadata(), [update({ action: 'set-properties', updates: { a: '1', b: '2' } }), update({ action: 'remove-properties', removals: ['a'] })]);
    expect(m.properties).toEqual({ b: '2' });
    // Files must stay under the table's location, where vended credentials and the table's prefix reach.
    expect(thrown(() => applyUpdates(m, [update({ action: 'set-properties', updates: { 'write.data.path': 's3://lake/raw/x' } })]))).toBeInstanceOf(InvalidInputError);
  });

  it('the metadata-log is trimmed to write.metadata.previous-versions-max', () => {
    let m = applyUpdates(baseMetadata(), [update({ action: 'set-properties', updates: { 'write.metadata.previous-versions-max': '2' } })]);
    for (let i = 1; i <= 4; i++) m = recordPreviousMetadata(m, applyUpdates(m, [update({ action: 'set-properties', updates: { k: String(i) } })]), { previousMetadataLocation: `v${i}`, nowMs: 0 });
    expect(m['metadata-log'].map((e) => e['metadata-file'])).toEqual(['v3', 'v4']);
  });
});

describe('isUnderLocation', () => {
  it('accepts files below the location only, without dot segments', () => {
    expect(isUnderLocation('s3://lake/ns/t/data/a.parquet', 's3://lake/ns/t')).toBe(true);
    expect(isUnderLocation('s3://lake/ns/t/data/a.parquet', 's3://lake/ns/t/')).toBe(true);
    expect(isUnderLocation('s3://lake/ns/t2/data/a.parquet', 's3://lake/ns/t')).toBe(false);
    expect(isUnderLocation('s3://other-bucket/ns/t/data/a.parquet', 's3://lake/ns/t')).toBe(false);
    expect(isUnderLocation('s3://lake/ns/t/../u/data/a.parquet', 's3://lake/ns/t')).toBe(false);
    expect(isUnderLocation('s3://lake/ns/t', 's3://lake/ns/t')).toBe(false);
  });
});

describe('commitTableUpdates on a memory catalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-table-updates-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const io = new LocalFileIO();

  it('concurrent property commits all land (lost swaps are retried), stale requirements fail without writing', async () => {
    const catalog = new MemoryCatalogStore();
    const location = fileUri(join(dir, 't'));
    const id = { namespace: ['ns'], name: 't' };
    const v1 = `${location}/metadata/v1.metadata.json`;
    await io.write(v1, new Uint8Array(Buffer.from(serializeTableMetadata(baseMetadata(location)))));
    await catalog.create(id, v1);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => commitTableUpdates({ io, catalog, id, requirements: [], updates: [update({ action: 'set-properties', updates: { [`k${i}`]: String(i) } })] })),
    );
    const after = await loadTable({ io, catalog, id });
    expect(Object.keys(after.metadata.properties).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    expect(after.metadata['metadata-log']).toHaveLength(8);
    const stale = commitTableUpdates({ io, catalog, id, requirements: [req({ type: 'assert-current-schema-id', 'current-schema-id': 9 })], updates: [update({ action: 'set-properties', updates: { z: '1' } })] });
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError);
    expect((await catalog.load(id))?.metadataLocation).toBe(after.metadataLocation);
  });

  it('refuses snapshots whose manifests or data files lie outside the table; the table is unchanged', async () => {
    const catalog = new MemoryCatalogStore();
    const schema = icebergSchemaFromColumns([{ name: 'id', type: 'long', required: true }]);
    const file = (location: string, name: string) => ({ filePath: `${location}/data/${name}.parquet`, fileFormat: 'PARQUET' as const, partition: {}, recordCount: 1, fileSizeInBytes: 100 });
    // Table "other" holds a manifest naming its own files; table "t" is the target.
    const otherId = { namespace: ['ns'], name: 'other' };
    const other = await createTable({ io, catalog, id: otherId, location: fileUri(join(dir, 'other')), schema });
    await appendFiles({ io, catalog, id: otherId, files: [file(other.metadata.location, 'o1')] });
    const otherManifest = (await readManifestList(io, currentSnapshot((await loadTable({ io, catalog, id: otherId })).metadata)!))[0]!;
    const id = { namespace: ['ns'], name: 't' };
    const t = await createTable({ io, catalog, id, location: fileUri(join(dir, 'target')), schema });
    await appendFiles({ io, catalog, id, files: [file(t.metadata.location, 'a')] });
    const base = await loadTable({ io, catalog, id });
    const parent = currentSnapshot(base.metadata)!;
    const own = await readManifestList(io, parent);

    let n = 0;
    const attempt = async (manifests: typeof own) => {
      const snapshotId = BigInt(1000 + ++n);
      const seq = base.metadata['last-sequence-number'] + 1;
      const listUri = `${base.metadata.location}/metadata/snap-rest-${snapshotId}.avro`;
      await io.write(listUri, encodeManifestList({ manifests, snapshotId, parentSnapshotId: parent['snapshot-id'], sequenceNumber: seq }));
      return commitTableUpdates({
        io,
        catalog,
        id,
        requirements: [req({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent['snapshot-id'] })],
        updates: [
          update({ action: 'add-snapshot', snapshot: { 'snapshot-id': snapshotId, 'parent-snapshot-id': parent['snapshot-id'], 'sequence-number': seq, 'timestamp-ms': Date.now(), 'manifest-list': listUri, summary: { operation: 'append' } } }),
          setMain(snapshotId),
        ],
      });
    };
    // A manifest of another table, listed as it is.
    await expect(attempt([...own, otherManifest])).rejects.toThrow(/manifest .*other.* outside the table location/);
    // The same manifest copied under the table: its data file is still another table's.
    const copied = `${base.metadata.location}/metadata/copied-m0.avro`;
    copyFileSync(fileURLToPath(otherManifest.manifestPath), fileURLToPath(copied));
    await expect(attempt([...own, { ...otherManifest, manifestPath: copied }])).rejects.toThrow(/data file .*other\/data\/o1\.parquet outside the table location/);
    expect((await catalog.load(id))?.metadataLocation).toBe(base.metadataLocation);
    expect(readFileSync(fileURLToPath(`${base.metadata.location}/metadata/version-hint.text`), 'utf8')).toBe('2');
    // A new manifest under the table naming the table's own files is accepted.
    const mine = `${base.metadata.location}/metadata/mine-m0.avro`;
    copyFileSync(fileURLToPath(own[0]!.manifestPath), fileURLToPath(mine));
    const ok = await attempt([{ ...own[0]!, manifestPath: mine }]);
    expect(ok.committed).toBe(true);
    expect(ok.table.metadata['current-snapshot-id']).toBe(1003n);
  });
});
