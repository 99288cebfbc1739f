// Avro manifests and manifest lists: round trip through our reader, and an independent read with avsc's own file
// decoder proving the header keeps the spec's field ids and key-value metadata.
import { Readable } from 'node:stream';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { CorruptMetadataError } from './errors.js';
import type { ManifestEntry, ManifestFile } from './manifest.js';
import { decodeManifest, decodeManifestList, encodeManifest, encodeManifestList, partitionSummaries } from './manifest.js';
import { buildPartitionSpec, normalizePartition, resolvePartitionSpec } from './partition.js';
import { icebergSchemaFromColumns } from './schema.js';

const schema = icebergSchemaFromColumns([
  { name: 'id', type: 'long', required: true },
  { name: 'ts', type: 'timestamp' },
  { name: 'country code', type: 'string' },
  { name: 'amount', type: 'decimal(20,2)' },
]);
const spec = buildPartitionSpec(schema, [
  { sourceColumn: 'ts', transform: 'day' },
  { sourceColumn: 'country code', transform: 'identity' },
  { sourceColumn: 'amount', transform: 'identity' },
  { sourceColumn: 'id', transform: 'bucket[8]' },
]);
const resolved = resolvePartitionSpec(schema, spec);
const BIG_ID = 9223372036854775000n;

interface AvroHeader {
  schema: Record<string, unknown>;
  meta: Record<string, string>;
  records: unknown[];
}

/** Decodes a container file with avsc's streaming decoder (not our reader), longs as bigint. */
async function readWithAvsc(bytes: Uint8Array): Promise<AvroHeader> {
  const bigLong = avro.types.LongType.__with({
    fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
    toBuffer: (n: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(n);
      return b;
    },
    fromJSON: BigInt,
    toJSON: Number,
    isValid: (n: unknown) => typeof n === 'bigint',
    compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
  });
  const decoder = new avro.streams.BlockDecoder({ parseHook: (s: avro.Schema) => avro.Type.forSchema(s, { registry: { long: bigLong } }) });
  const records: unknown[] = [];
  let header: { meta: Record<string, Buffer> } | undefined;
  decoder.on('metadata', (_type: unknown, _codec: string, h: { meta: Record<string, Buffer> }) => {
    header = h;
  });
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: unknown) => records.push(r));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([Buffer.from(bytes)]).pipe(decoder);
  });
  if (!header) throw new Error('no header');
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.meta)) meta[k] = v.toString('utf8');
  return { schema: JSON.parse(meta['avro.schema']!) as Record<string, unknown>, meta, records };
}

function fieldIds(schema: unknown, out: Record<string, number> = {}, prefix = ''): Record<string, number> {
  if (Array.isArray(schema)) schema.forEach((s) => fieldIds(s, out, prefix));
  else if (schema && typeof schema === 'object') {
    const s = schema as Record<string, unknown>;
    if (Array.isArray(s.fields)) {
      for (const f of s.fields as Array<Record<string, unknown>>) {
        const name = `${prefix}${String(f.name)}`;
        if (typeof f['field-id'] === 'number') out[name] = f['field-id'];
        fieldIds(f.type, out, `${name}.`);
      }
    }
    if (typeof s['element-id'] === 'number') out[`${prefix}element`] = s['element-id'];
    if (s.items) fieldIds(s.items, out, prefix);
    if (s.type && typeof s.type === 'object') fieldIds(s.type, out, prefix);
  }
  return out;
}

function entry(path: string, partition: Record<string, unknown>, status: 0 | 1 | 2 = 1): ManifestEntry {
  return {
    status,
    snapshotId: BIG_ID,
    sequenceNumber: status === 1 ? null : 3,
    fileSequenceNumber: status === 1 ? null : 3,
    partitionTuple: normalizePartition(resolved, partition, path),
    dataFile: {
      filePath: path,
      fileFormat: 'PARQUET',
      specId: 0,
      partition: {},
      recordCount: 10,
      fileSizeInBytes: 1234,
      columnSizes: { 1: 100, 2: 200 },
      valueCounts: { 1: 10, 2: 10 },
      nullValueCounts: { 1: 0, 2: 3 },
      lowerBounds: { 1: Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]).toString('base64') },
      upperBounds: { 1: Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]).toString('base64') },
      splitOffsets: [4],
    },
  };
}

describe('manifest Avro', () => {
  const entries = [
    entry('s3://lake/t/data/a.parquet', { ts_day: '2024-01-02', 'country code': 'NL', amount: '12.34', id_bucket_8: 3 }),
    entry('s3://lake/t/data/b.parquet', { ts_day: 19000, 'country code': null, amount: null, id_bucket_8: 0 }, 0),
  ];
  const bytes = encodeManifest({ schema, spec, resolved, entries });

  it('header schema carries the spec field ids, file carries the required key-value metadata', async () => {
    const file = await readWithAvsc(bytes);
    expect(file.schema.name).toBe('manifest_entry');
    const ids = fieldIds(file.schema);
    expect(ids).toMatchObject({
      status: 0,
      snapshot_id: 1,
      sequence_number: 3,
      file_sequence_number: 4,
      data_file: 2,
      'data_file.content': 134,
      'data_file.file_path': 100,
      'data_file.file_format': 101,
      'data_file.partition': 102,
      'data_file.partition.ts_day': 1000,
      'data_file.partition.country_x20code': 1001,
      'data_file.partition.amount': 1002,
      'data_file.partition.id_bucket_8': 1003,
      'data_file.record_count': 103,
      'data_file.file_size_in_bytes': 104,
      'data_file.column_sizes': 108,
      'data_file.column_sizes.key': 117,
      'data_file.column_sizes.value': 118,
      'data_file.value_counts': 109,
      'data_file.null_value_counts': 110,
      'data_file.nan_value_counts': 137,
      'data_file.lower_bounds': 125,
      'data_file.lower_bounds.key': 126,
      'data_file.lower_bounds.value': 127,
      'data_file.upper_bounds': 128,
      'data_file.key_metadata': 131,
      'data_file.split_offsets': 132,
      'data_file.split_offsets.element': 133,
      'data_file.equality_ids': 135,
      'data_file.sort_order_id': 140,
    });
    expect(file.meta).toMatchObject({
      'schema-id': '0',
      'partition-spec-id': '0',
      'format-version': '2',
      content: 'data',
      'avro.codec': 'deflate',
    });
    expect(JSON.parse(file.meta.schema!)).toEqual(JSON.parse(JSON.stringify(schema)));
    expect(JSON.parse(file.meta['partition-spec']!)).toEqual(spec.fields);
    // The renamed Avro field still records the Iceberg partition field name.
    const partitionRecord = JSON.stringify(file.schema);
    expect(partitionRecord).toContain('"iceberg-field-name":"country code"');
    expect(file.records).toHaveLength(2);
    const first = file.records[0] as { snapshot_id: bigint; data_file: { record_count: bigint; partition: Record<string, unknown> } };
    expect(first.snapshot_id).toBe(BIG_ID);
    expect(first.data_file.record_count).toBe(10n);
    expect(first.data_file.partition.ts_day).toBe(19724);
    expect(first.data_file.partition.country_x20code).toBe('NL');
  });

  it('round-trips through our reader by field id', () => {
    const decoded = decodeManifest({ bytes, location: 'mem://m.avro', resolved, specId: 0 });
    expect(decoded.metadata['format-version']).toBe('2');
    expect(decoded.entries.map((e) => [e.status, e.snapshotId, e.sequenceNumber, e.dataFile.filePath])).toEqual([
      [1, BIG_ID, null, 's3://lake/t/data/a.parquet'],
      [0, BIG_ID, 3, 's3://lake/t/data/b.parquet'],
    ]);
    expect(decoded.entries[0]!.dataFile).toEqual({
      ...entries[0]!.dataFile,
      partition: { ts_day: 19724, 'country code': 'NL', amount: '12.34', id_bucket_8: 3 },
    });
    expect(decoded.entries[1]!.partitionTuple).toEqual([19000, null, null, 0]);
  });

  it('rejects corrupt files with the location in the message', () => {
    const broken = Uint8Array.from(bytes);
    broken[broken.length - 3]! ^= 0xff; // damage the last sync marker
    expect(() => decodeManifest({ bytes: broken, location: 's3://lake/t/metadata/x-m0.avro', resolved, specId: 0 })).toThrow(CorruptMetadataError);
    expect(() => decodeManifest({ bytes: new Uint8Array([1, 2, 3]), location: 's3://lake/t/metadata/x-m0.avro', resolved, specId: 0 })).toThrow(
      /x-m0\.avro: not an Avro object container/,
    );
  });
});

describe('manifest list Avro', () => {
  const manifests: ManifestFile[] = [
    {
      manifestPath: 's3://lake/t/metadata/a-m0.avro',
      manifestLength: 4242,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 7,
      minSequenceNumber: 5,
      addedSnapshotId: BIG_ID,
      addedFilesCount: 1,
      existingFilesCount: 2,
      deletedFilesCount: 0,
      addedRowsCount: 10,
      existingRowsCount: 20,
      deletedRowsCount: 0,
      partitions: partitionSummaries(resolved, [
        normalizePartition(resolved, { ts_day: 5, 'country code': 'NL', amount: '1.00', id_bucket_8: 1 }, 'x'),
        normalizePartition(resolved, { ts_day: 3, 'country code': null, amount: '-1.00', id_bucket_8: 7 }, 'x'),
      ]),
      keyMetadata: null,
    },
  ];
  const bytes = encodeManifestList({ manifests, snapshotId: BIG_ID, parentSnapshotId: null, sequenceNumber: 7 });

  it('header schema carries field ids 500.., file carries snapshot metadata', async () => {
    const file = await readWithAvsc(bytes);
    expect(file.schema.name).toBe('manifest_file');
    expect(fieldIds(file.schema)).toEqual({
      manifest_path: 500,
      manifest_length: 501,
      partition_spec_id: 502,
      content: 517,
      sequence_number: 515,
      min_sequence_number: 516,
      added_snapshot_id: 503,
      added_files_count: 504,
      existing_files_count: 505,
      deleted_files_count: 506,
      added_rows_count: 512,
      existing_rows_count: 513,
      deleted_rows_count: 514,
      partitions: 507,
      'partitions.element': 508,
      'partitions.contains_null': 509,
      'partitions.contains_nan': 518,
      'partitions.lower_bound': 510,
      'partitions.upper_bound': 511,
      key_metadata: 519,
    });
    expect(file.meta).toMatchObject({ 'snapshot-id': BIG_ID.toString(), 'parent-snapshot-id': 'null', 'sequence-number': '7', 'format-version': '2' });
  });

  it('round-trips, including partition summaries', () => {
    const decoded = decodeManifestList(bytes, 'mem://list.avro');
    expect(decoded).toEqual(manifests);
    const summary = decoded[0]!.partitions!;
    expect(summary[0]).toEqual({ containsNull: false, containsNan: null, lowerBound: Uint8Array.of(3, 0, 0, 0), upperBound: Uint8Array.of(5, 0, 0, 0) });
    expect(summary[1]!.containsNull).toBe(true);
    expect(Buffer.from(summary[1]!.lowerBound!).toString()).toBe('NL');
    expect(Buffer.from(summary[2]!.lowerBound!).toString('hex')).toBe('9c'); // -1.00 → unscaled -100, one byte
  });
});

describe('partition values of every type', () => {
  it('round-trip through a manifest, including 64-bit and logical types', () => {
    const types = ['boolean', 'int', 'long', 'float', 'double', 'date', 'time', 'timestamp', 'timestamptz', 'string', 'uuid', 'binary', 'fixed[3]', 'decimal(38,4)'] as const;
    const wide = {
      type: 'struct' as const,
      'schema-id': 0,
      fields: types.map((t, i) => ({ id: i + 1, name: `c${i}`, required: false, type: t })),
    };
    const wideSpec = buildPartitionSpec(wide, [
      ...types.map((_t, i) => ({ sourceColumn: `c${i}`, transform: 'identity' })),
      { sourceColumn: 'c7', transform: 'hour' },
      { sourceColumn: 'c5', transform: 'month' },
      { sourceColumn: 'c9', transform: 'truncate[2]' },
      { sourceColumn: 'c2', transform: 'bucket[16]' },
    ]);
    const wideResolved = resolvePartitionSpec(wide, wideSpec);
    const input: Record<string, unknown> = {
      c0: true,
      c1: -7,
      c2: '9223372036854775807',
      c3: 1.5,
      c4: -0.1,
      c5: '2024-02-29',
      c6: '23:59:59.999999',
      c7: '2024-02-29T12:00:00.5',
      c8: '2024-02-29 12:00:00+01:00',
      c9: 'zoë',
      c10: 'F79C3E09-677C-4BBD-A479-3F349CB785E7',
      c11: Buffer.from([0, 255]).toString('base64'),
      c12: Uint8Array.of(1, 2, 3),
      c13: '-12345678901234567890123456789012.3456',
      c7_hour: 474468,
      c5_month: 649,
      c9_trunc_2: 'zo',
      c2_bucket_16: 5,
    };
    const e: ManifestEntry = {
      status: 1,
      snapshotId: 1n,
      sequenceNumber: null,
      fileSequenceNumber: null,
      partitionTuple: normalizePartition(wideResolved, input, 'wide'),
      dataFile: { filePath: 's3://b/f.parquet', fileFormat: 'PARQUET', partition: {}, recordCount: 1, fileSizeInBytes: 1 },
    };
    const bytes = encodeManifest({ schema: wide, spec: wideSpec, resolved: wideResolved, entries: [e] });
    const [back] = decodeManifest({ bytes, location: 'mem://wide', resolved: wideResolved, specId: 0 }).entries;
    expect(back!.partitionTuple).toEqual(e.partitionTuple);
    expect(back!.dataFile.partition).toEqual({
      c0: true,
      c1: -7,
      c2: 9223372036854775807n,
      c3: 1.5,
      c4: -0.1,
      c5: 19782,
      c6: 86399999999,
      c7: 1709208000500000,
      c8: 1709204400000000,
      c9: 'zoë',
      c10: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
      c11: 'AP8=',
      c12: 'AQID',
      c13: '-12345678901234567890123456789012.3456',
      c7_hour: 474468,
      c5_month: 649,
      c9_trunc_2: 'zo',
      c2_bucket_16: 5,
    });
  });
});
