// Table metadata JSON: every field format v2 requires, bigint-exact ids, validation errors that name the file.
import { describe, expect, it } from 'vitest';
import { CorruptMetadataError, UnsupportedTableError } from './errors.js';
import type { Snapshot, TableMetadata } from './metadata.js';
import { metadataVersion, newTableMetadata, parseTableMetadata, recordPreviousMetadata, serializeTableMetadata } from './metadata.js';
import { applyUpdates } from './updates.js';

/** What a snapshot commit does: add-snapshot + main, then the engine's metadata-log bookkeeping. */
function withSnapshot(base: TableMetadata, snapshot: Snapshot, opts: { previousMetadataLocation: string; nowMs: number }): TableMetadata {
  const next = applyUpdates(base, [
    { action: 'add-snapshot', snapshot },
    { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': snapshot['snapshot-id'] },
  ]);
  return recordPreviousMetadata(base, next, opts);
}
import { buildPartitionSpec, UNPARTITIONED_SPEC } from './partition.js';
import { icebergSchemaFromColumns } from './schema.js';

const schema = icebergSchemaFromColumns([
  { name: 'id', type: 'long', required: true },
  { name: 'ts', type: 'timestamp' },
  { name: 'country', type: 'string' },
]);

const V2_REQUIRED = [
  'format-version',
  'table-uuid',
  'location',
  'last-sequence-number',
  'last-updated-ms',
  'last-column-id',
  'schemas',
  'current-schema-id',
  'partition-specs',
  'default-spec-id',
  'last-partition-id',
  'sort-orders',
  'default-sort-order-id',
];

describe('table metadata', () => {
  it('a new table has every v2 field, with an unsorted order and no snapshot', () => {
    const md = newTableMetadata({ location: 's3://lake/raw/events/', schema, partitionSpec: UNPARTITIONED_SPEC, properties: { owner: 'atoll' }, nowMs: 1000 });
    const json = JSON.parse(serializeTableMetadata(md)) as Record<string, unknown>;
    for (const key of V2_REQUIRED) expect(json).toHaveProperty([key]);
    expect(json).toMatchObject({
      'format-version': 2,
      location: 's3://lake/raw/events',
      'last-sequence-number': 0,
      'last-column-id': 3,
      'current-schema-id': 0,
      'default-spec-id': 0,
      'partition-specs': [{ 'spec-id': 0, fields: [] }],
      'last-partition-id': 999,
      'sort-orders': [{ 'order-id': 0, fields: [] }],
      'default-sort-order-id': 0,
      properties: { owner: 'atoll' },
      'current-snapshot-id': -1,
      snapshots: [],
      'snapshot-log': [],
      'metadata-log': [],
      refs: {},
    });
    expect(json['table-uuid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(parseTableMetadata(serializeTableMetadata(md), 'mem://v1')).toEqual(md);
  });

  it('assigns partition field ids from 1000 and tracks last-partition-id', () => {
    const spec = buildPartitionSpec(schema, [
      { sourceColumn: 'ts', transform: 'day' },
      { sourceColumn: 'country', transform: 'identity' },
    ]);
    expect(spec.fields).toEqual([
      { 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' },
      { 'source-id': 3, 'field-id': 1001, name: 'country', transform: 'identity' },
    ]);
    const md = newTableMetadata({ location: 'file:///t', schema, partitionSpec: spec });
    expect(md['last-partition-id']).toBe(1001);
    expect(() => buildPartitionSpec(schema, [{ sourceColumn: 'nope', transform: 'identity' }])).toThrow(/no column/);
    expect(() => buildPartitionSpec(schema, [{ sourceColumn: 'id', transform: 'day' }])).toThrow(/does not apply/);
  });

  it('snapshots, refs, snapshot-log and metadata-log; ids above 2^53 survive the round trip', () => {
    const base = newTableMetadata({ location: 'file:///t', schema, partitionSpec: UNPARTITIONED_SPEC, nowMs: 1000 });
    const snapshot: Snapshot = {
      'snapshot-id': 9007199254740993n, // 2^53 + 1: not representable as a double
      'sequence-number': 1,
      'timestamp-ms': 2000,
      'manifest-list': 'file:///t/metadata/snap-1.avro',
      summary: { operation: 'append', 'added-records': '3' },
      'schema-id': 0,
    };
    const next = withSnapshot(base, snapshot, { previousMetadataLocation: 'file:///t/metadata/v1.metadata.json', nowMs: 2000 });
    const text = serializeTableMetadata(next);
    expect(text).toContain('"current-snapshot-id": 9007199254740993');
    expect(text).toContain('"snapshot-id": 9007199254740993');
    const parsed = parseTableMetadata(text, 'file:///t/metadata/v2.metadata.json');
    expect(parsed['current-snapshot-id']).toBe(9007199254740993n);
    expect(parsed.refs).toEqual({ main: { 'snapshot-id': 9007199254740993n, type: 'branch' } });
    expect(parsed['snapshot-log']).toEqual([{ 'timestamp-ms': 2000, 'snapshot-id': 9007199254740993n }]);
    expect(parsed['metadata-log']).toEqual([{ 'timestamp-ms': 1000, 'metadata-file': 'file:///t/metadata/v1.metadata.json' }]);
    expect(parsed['last-sequence-number']).toBe(1);
    expect(parsed).toEqual(next);
  });

  it('committed (frozen) snapshots are serialized once and reused; every version still reads back exactly', () => {
    let md = newTableMetadata({ location: 'file:///t', schema, partitionSpec: UNPARTITIONED_SPEC, nowMs: 1000 });
    for (let i = 1; i <= 5; i++) {
      const snapshot: Snapshot = {
        'snapshot-id': 9007199254740993n + BigInt(i),
        ...(i > 1 ? { 'parent-snapshot-id': 9007199254740993n + BigInt(i - 1) } : {}),
        'sequence-number': i,
        'timestamp-ms': 1000 + i,
        'manifest-list': `file:///t/metadata/snap-${i}.avro`,
        summary: { operation: 'append', 'added-records': String(i), note: `"quoted" \\ ${'\u0000'}` },
        'schema-id': 0,
      };
      md = withSnapshot(md, snapshot, { previousMetadataLocation: `file:///t/metadata/v${i}.metadata.json`, nowMs: 1000 + i });
      const text = serializeTableMetadata(md);
      expect(parseTableMetadata(text, `file:///t/metadata/v${i + 1}.metadata.json`)).toEqual(md);
      // What a commit does to the metadata it made current: the next commit shares these snapshot objects.
      Object.freeze(snapshot.summary);
      Object.freeze(snapshot);
      expect(serializeTableMetadata(md)).toBe(text);
    }
    expect(md.snapshots).toHaveLength(5);
  });

  it('trims the metadata-log to write.metadata.previous-versions-max', () => {
    let md = newTableMetadata({ location: 'file:///t', schema, partitionSpec: UNPARTITIONED_SPEC, properties: { 'write.metadata.previous-versions-max': '2' } });
    for (let i = 1; i <= 4; i++) {
      md = withSnapshot(
        md,
        { 'snapshot-id': BigInt(i), 'sequence-number': i, 'timestamp-ms': i, 'manifest-list': `file:///t/m${i}`, summary: { operation: 'append' } },
        { previousMetadataLocation: `file:///t/metadata/v${i}.metadata.json`, nowMs: i },
      );
    }
    expect(md['metadata-log'].map((e) => e['metadata-file'])).toEqual(['file:///t/metadata/v3.metadata.json', 'file:///t/metadata/v4.metadata.json']);
    expect(md.snapshots.at(-1)?.['snapshot-id']).toBe(4n);
  });

  it('reports what is wrong and where', () => {
    const md = JSON.parse(serializeTableMetadata(newTableMetadata({ location: 'file:///t', schema, partitionSpec: UNPARTITIONED_SPEC }))) as Record<string, unknown>;
    const loc = 'file:///t/metadata/v9.metadata.json';
    expect(() => parseTableMetadata('{oops', loc)).toThrow(CorruptMetadataError);
    expect(() => parseTableMetadata('{oops', loc)).toThrow(/v9\.metadata\.json: not valid JSON/);
    const missing = { ...md };
    delete missing['last-sequence-number'];
    expect(() => parseTableMetadata(JSON.stringify(missing), loc)).toThrow(/last-sequence-number is missing/);
    expect(() => parseTableMetadata(JSON.stringify({ ...md, 'current-snapshot-id': 5 }), loc)).toThrow(/does not name a snapshot/);
    expect(() => parseTableMetadata(JSON.stringify({ ...md, 'format-version': 3 }), loc)).toThrow(UnsupportedTableError);
  });

  it('reads version numbers from vN.metadata.json names', () => {
    expect(metadataVersion('s3://b/t/metadata/v12.metadata.json')).toBe(12);
    expect(metadataVersion('s3://b/t/metadata/00012-abc.metadata.json')).toBeNull();
  });
});
