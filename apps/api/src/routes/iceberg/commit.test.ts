// Unit tests of the REST commit rules: requirements, updates, schema evolution, and the CAS loop on a memory catalog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileIO, MemoryCatalogStore, fileUri, loadTable, parseTableMetadata, serializeTableMetadata, type TableMetadata } from '@atoll/iceberg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyUpdates, checkSchemaEvolution, commitTable, failedRequirement } from './commit.js';
import { IcebergRestError } from './errors.js';

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

const addSnapshot = (id: bigint, seq: number, location = 's3://lake/ns/t') => ({
  action: 'add-snapshot',
  snapshot: { 'snapshot-id': id, 'sequence-number': seq, 'timestamp-ms': 1_700_000_001_000, 'manifest-list': `${location}/metadata/snap-${id}.avro`, summary: { operation: 'append' } },
});
const setMain = (id: bigint) => ({ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id });
const opts = { previousMetadataLocation: 's3://lake/ns/t/metadata/v1.metadata.json', nowMs: 1_700_000_002_000 };

function restError(fn: () => unknown): IcebergRestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IcebergRestError) return err;
    throw err;
  }
  throw new Error('expected an IcebergRestError');
}

describe('requirements', () => {
  it('assert-ref-snapshot-id compares exact 64-bit ids, null meaning "no such ref"', () => {
    const m = applyUpdates(baseMetadata(), [addSnapshot(BIG_ID, 1), setMain(BIG_ID)], opts);
    expect(failedRequirement(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': BIG_ID }])).toBeNull();
    expect(failedRequirement(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': BIG_ID - 1n }])).toMatch(/points at snapshot/);
    expect(failedRequirement(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }])).toMatch(/created concurrently/);
    expect(failedRequirement(baseMetadata(), [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }])).toBeNull();
  });

  it('assert-table-uuid, assert-create and id assertions; unknown types are a bad request', () => {
    const m = baseMetadata();
    expect(failedRequirement(m, [{ type: 'assert-table-uuid', uuid: m['table-uuid'] }])).toBeNull();
    expect(failedRequirement(m, [{ type: 'assert-table-uuid', uuid: '22222222-2222-4222-8222-222222222222' }])).toMatch(/uuid/);
    expect(failedRequirement(m, [{ type: 'assert-create' }])).toMatch(/already exists/);
    expect(failedRequirement(m, [{ type: 'assert-current-schema-id', 'current-schema-id': 1 }])).toMatch(/schema id/);
    expect(failedRequirement(m, [{ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 2 }])).toBeNull();
    expect(restError(() => failedRequirement(m, [{ type: 'assert-something' }])).status).toBe(400);
  });
});

describe('updates', () => {
  it('add-snapshot + set-snapshot-ref main make the snapshot current and log the previous metadata file', () => {
    const m = applyUpdates(baseMetadata(), [addSnapshot(BIG_ID, 1), setMain(BIG_ID)], opts);
    expect(m['current-snapshot-id']).toBe(BIG_ID);
    expect(m.refs.main).toEqual({ 'snapshot-id': BIG_ID, type: 'branch' });
    expect(m['last-sequence-number']).toBe(1);
    expect(m['snapshot-log']).toEqual([{ 'timestamp-ms': 1_700_000_001_000, 'snapshot-id': BIG_ID }]);
    expect(m['metadata-log']).toEqual([{ 'timestamp-ms': 1_700_000_000_000, 'metadata-file': opts.previousMetadataLocation }]);
    // The result is valid metadata for the strict reader, ids intact.
    expect(parseTableMetadata(serializeTableMetadata(m), 'round trip')['current-snapshot-id']).toBe(BIG_ID);
  });

  it('refuses a stale sequence number, a foreign manifest list and a missing snapshot for a ref', () => {
    const m = applyUpdates(baseMetadata(), [addSnapshot(5n, 1), setMain(5n)], opts);
    expect(restError(() => applyUpdates(m, [addSnapshot(6n, 1)], opts)).type).toBe('CommitFailedException');
    expect(restError(() => applyUpdates(m, [addSnapshot(6n, 2, 's3://lake/other')], opts)).type).toBe('BadRequestException');
    expect(restError(() => applyUpdates(m, [setMain(7n)], opts)).type).toBe('BadRequestException');
    expect(restError(() => applyUpdates(m, [{ action: 'set-location', location: 's3://lake/elsewhere' }], opts)).type).toBe('BadRequestException');
    expect(restError(() => applyUpdates(m, [{ action: 'rename-everything' }], opts)).status).toBe(400);
  });

  it('schema evolution: add a column and widen int → long; never narrow, retype or add a required column', () => {
    const m = baseMetadata();
    const evolved = applyUpdates(
      m,
      [
        { action: 'add-schema', schema: { type: 'struct', 'schema-id': 1, fields: [{ id: 1, name: 'id', type: 'long', required: true }, { id: 2, name: 'full_name', type: 'string', required: false }, { id: 3, name: 'age', type: 'int', required: false }] } },
        { action: 'set-current-schema', 'schema-id': -1 },
      ],
      opts,
    );
    expect(evolved['current-schema-id']).toBe(1);
    expect(evolved['last-column-id']).toBe(3);
    const long = evolved.schemas[1]!;
    expect(() => checkSchemaEvolution(long, { ...long, fields: [{ id: 1, name: 'id', type: 'int', required: true }] })).toThrow(/long to int/);
    expect(() => checkSchemaEvolution(long, { ...long, fields: [{ id: 2, name: 'full_name', type: 'long', required: false }] })).toThrow(/string to long/);
    expect(() => checkSchemaEvolution(long, { ...long, fields: [...long.fields, { id: 4, name: 'x', type: 'string', required: true }] })).toThrow(/optional/);
    expect(() => checkSchemaEvolution(long, { ...long, fields: [{ id: 2, name: 'full_name', type: 'string', required: true }] })).toThrow(/required/);
  });

  it('set-properties / remove-properties', () => {
    const m = applyUpdates(baseMetadata(), [{ action: 'set-properties', updates: { a: '1', b: '2' } }, { action: 'remove-properties', removals: ['a'] }], opts);
    expect(m.properties).toEqual({ b: '2' });
    // Files must stay under the table's location, where vended credentials and the table's prefix reach.
    expect(restError(() => applyUpdates(m, [{ action: 'set-properties', updates: { 'write.data.path': 's3://lake/raw/x' } }], opts)).status).toBe(400);
  });
});

describe('commitTable on a memory catalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-rest-commit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('concurrent property commits all land (lost swaps are retried), stale requirements fail without writing', async () => {
    const io = new LocalFileIO();
    const catalog = new MemoryCatalogStore();
    const location = fileUri(join(dir, 't'));
    const id = { namespace: ['ns'], name: 't' };
    const v1 = `${location}/metadata/v1.metadata.json`;
    await io.write(v1, new Uint8Array(Buffer.from(serializeTableMetadata(baseMetadata(location)))));
    await catalog.create(id, v1);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => commitTable({ io, catalog, id, request: { requirements: [], updates: [{ action: 'set-properties', updates: { [`k${i}`]: String(i) } }] } })),
    );
    const after = await loadTable({ io, catalog, id });
    expect(Object.keys(after.metadata.properties).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    expect(after.metadata['metadata-log']).toHaveLength(8);
    const stale = commitTable({ io, catalog, id, request: { requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 9 }], updates: [{ action: 'set-properties', updates: { z: '1' } }] } });
    await expect(stale).rejects.toMatchObject({ type: 'CommitFailedException', status: 409 });
    expect((await catalog.load(id))?.metadataLocation).toBe(after.metadataLocation);
  });
});
