// Manifests (manifest_entry / data_file, field ids 0..145) and manifest lists (manifest_file, field ids 500..), format v2.
import { CorruptMetadataError, InvalidInputError } from './errors.js';
import type { AvroSchema, ById } from './avro.js';
import { avroCompatibleName, readAvroFile, rekeyByFieldId, writeAvroFile } from './avro.js';
import type { PrimitiveValue } from './conversions.js';
import { bytesToUuid, compareValues, decimalFixedSize, fromTwosComplement, toBinary, twosComplement, uuidToBytes } from './conversions.js';
import { stringifyJson } from './json.js';
import type { PartitionSpec, PartitionValue, ResolvedPartitionField } from './partition.js';
import { externalPartition } from './partition.js';
import type { IcebergSchema, PrimitiveType } from './types.js';
import { decimalParams, fixedLength } from './types.js';

/**
 * One data file as Atoll passes it around (job payloads included), so every field is JSON-safe: metric maps are
 * keyed by field id, bounds are base64 of the spec's binary single-value encoding.
 */
export interface DataFile {
  /** Absolute URI with scheme (s3://…, file:///…). */
  filePath: string;
  fileFormat: 'PARQUET' | 'AVRO' | 'ORC';
  /** Partition spec this file was written for; the table's default spec when omitted. */
  specId?: number;
  /** Partition values by partition field name (empty for unpartitioned tables). */
  partition: Record<string, PartitionValue>;
  recordCount: number;
  fileSizeInBytes: number;
  columnSizes?: Record<number, number>;
  valueCounts?: Record<number, number>;
  nullValueCounts?: Record<number, number>;
  nanValueCounts?: Record<number, number>;
  lowerBounds?: Record<number, string>;
  upperBounds?: Record<number, string>;
  splitOffsets?: number[];
  sortOrderId?: number;
  keyMetadata?: string;
}

export type ManifestEntryStatus = 0 | 1 | 2; // EXISTING, ADDED, DELETED

/** A manifest entry with the partition tuple in memory form (spec order) for re-encoding. */
export interface ManifestEntry {
  status: ManifestEntryStatus;
  snapshotId: bigint | null;
  /** Data sequence number; null on ADDED entries means "inherit from the manifest list". */
  sequenceNumber: number | null;
  fileSequenceNumber: number | null;
  dataFile: DataFile;
  partitionTuple: Array<PrimitiveValue | null>;
}

export interface FieldSummary {
  containsNull: boolean;
  containsNan: boolean | null;
  lowerBound: Uint8Array | null;
  upperBound: Uint8Array | null;
}

/** One row of a manifest list. */
export interface ManifestFile {
  manifestPath: string;
  manifestLength: number;
  partitionSpecId: number;
  content: 0 | 1;
  sequenceNumber: number;
  minSequenceNumber: number;
  addedSnapshotId: bigint;
  addedFilesCount: number;
  existingFilesCount: number;
  deletedFilesCount: number;
  addedRowsCount: number;
  existingRowsCount: number;
  deletedRowsCount: number;
  partitions: FieldSummary[] | null;
  keyMetadata: Uint8Array | null;
}

// ---- Avro schemas ----------------------------------------------------------------------------------------------

function optional(name: string, fieldId: number, type: AvroSchema, doc?: string): Record<string, unknown> {
  const f: Record<string, unknown> = { name, type: ['null', type], default: null, 'field-id': fieldId };
  if (doc) f.doc = doc;
  return f;
}

function required(name: string, fieldId: number, type: AvroSchema, doc?: string): Record<string, unknown> {
  const f: Record<string, unknown> = { name, type, 'field-id': fieldId };
  if (doc) f.doc = doc;
  return f;
}

function intKeyMap(keyId: number, valueId: number, valueType: AvroSchema): AvroSchema {
  // Non-string keys need the array-of-records form with logicalType "map" (spec Appendix A).
  return {
    type: 'array',
    logicalType: 'map',
    items: {
      type: 'record',
      name: `k${keyId}_v${valueId}`,
      fields: [
        { name: 'key', type: 'int', 'field-id': keyId },
        { name: 'value', type: valueType, 'field-id': valueId },
      ],
    },
  };
}

/** Avro schema of one primitive, reusing names already defined in the same schema (Avro forbids redefinition). */
function primitiveAvro(type: PrimitiveType, defined: Set<string>): AvroSchema {
  const named = (name: string, def: Record<string, unknown>): AvroSchema => {
    if (defined.has(name)) return name;
    defined.add(name);
    return { ...def, name };
  };
  const dec = decimalParams(type);
  if (dec) {
    return named(`decimal_${dec.precision}_${dec.scale}`, {
      type: 'fixed',
      size: decimalFixedSize(type),
      logicalType: 'decimal',
      precision: dec.precision,
      scale: dec.scale,
    });
  }
  const len = fixedLength(type);
  if (len !== null) return named(`fixed_${len}`, { type: 'fixed', size: len });
  switch (type) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return type;
    case 'binary':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false };
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true };
    case 'uuid':
      return named('uuid_fixed', { type: 'fixed', size: 16, logicalType: 'uuid' });
    default:
      throw new InvalidInputError(`no Avro mapping for ${type}`);
  }
}

function partitionAvroName(r: ResolvedPartitionField): string {
  return avroCompatibleName(r.field.name);
}

/** The manifest_entry schema for a partition spec (the partition struct's field ids are the spec's field ids). */
export function manifestEntrySchema(resolved: ResolvedPartitionField[]): AvroSchema {
  const defined = new Set<string>();
  const partitionFields = resolved.map((r) => {
    const f = optional(partitionAvroName(r), r.field['field-id'], primitiveAvro(r.resultType, defined));
    if (partitionAvroName(r) !== r.field.name) f['iceberg-field-name'] = r.field.name;
    return f;
  });
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      required('status', 0, 'int'),
      optional('snapshot_id', 1, 'long'),
      optional('sequence_number', 3, 'long'),
      optional('file_sequence_number', 4, 'long'),
      required(
        'data_file',
        2,
        {
          type: 'record',
          name: 'r2',
          fields: [
            required('content', 134, 'int', 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes'),
            required('file_path', 100, 'string', 'Location URI with FS scheme'),
            required('file_format', 101, 'string', 'File format name: avro, orc, or parquet'),
            required('partition', 102, { type: 'record', name: 'r102', fields: partitionFields }, 'Partition data tuple, schema based on the partition spec'),
            required('record_count', 103, 'long', 'Number of records in the file'),
            required('file_size_in_bytes', 104, 'long', 'Total file size in bytes'),
            optional('column_sizes', 108, intKeyMap(117, 118, 'long'), 'Map of column id to total size on disk'),
            optional('value_counts', 109, intKeyMap(119, 120, 'long'), 'Map of column id to total count, including null and NaN'),
            optional('null_value_counts', 110, intKeyMap(121, 122, 'long'), 'Map of column id to null value count'),
            optional('nan_value_counts', 137, intKeyMap(138, 139, 'long'), 'Map of column id to number of NaN values in the column'),
            optional('lower_bounds', 125, intKeyMap(126, 127, 'bytes'), 'Map of column id to lower bound'),
            optional('upper_bounds', 128, intKeyMap(129, 130, 'bytes'), 'Map of column id to upper bound'),
            optional('key_metadata', 131, 'bytes', 'Encryption key metadata blob'),
            optional('split_offsets', 132, { type: 'array', items: 'long', 'element-id': 133 }, 'Splittable offsets'),
            optional('equality_ids', 135, { type: 'array', items: 'int', 'element-id': 136 }, 'Equality comparison field IDs'),
            optional('sort_order_id', 140, 'int', 'Sort order ID'),
          ],
        },
      ),
    ],
  };
}

export const MANIFEST_LIST_SCHEMA: AvroSchema = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    required('manifest_path', 500, 'string', 'Location URI with FS scheme'),
    required('manifest_length', 501, 'long', 'Total file size in bytes'),
    required('partition_spec_id', 502, 'int', 'Spec ID used to write'),
    required('content', 517, 'int', 'Contents of the manifest: 0=data, 1=deletes'),
    required('sequence_number', 515, 'long', 'Sequence number when the manifest was added'),
    required('min_sequence_number', 516, 'long', 'Lowest sequence number in the manifest'),
    required('added_snapshot_id', 503, 'long', 'Snapshot ID that added the manifest'),
    required('added_files_count', 504, 'int', 'Added entry count'),
    required('existing_files_count', 505, 'int', 'Existing entry count'),
    required('deleted_files_count', 506, 'int', 'Deleted entry count'),
    required('added_rows_count', 512, 'long', 'Added rows count'),
    required('existing_rows_count', 513, 'long', 'Existing rows count'),
    required('deleted_rows_count', 514, 'long', 'Deleted rows count'),
    optional(
      'partitions',
      507,
      {
        type: 'array',
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            required('contains_null', 509, 'boolean', 'True if any file has a null partition value'),
            optional('contains_nan', 518, 'boolean', 'True if any file has a nan partition value'),
            optional('lower_bound', 510, 'bytes', 'Partition lower bound for all files'),
            optional('upper_bound', 511, 'bytes', 'Partition upper bound for all files'),
          ],
        },
        'element-id': 508,
      },
      'Summary for each partition',
    ),
    optional('key_metadata', 519, 'bytes', 'Encryption key metadata blob'),
  ],
};

// ---- value encoding --------------------------------------------------------------------------------------------

function partitionToAvro(type: PrimitiveType, v: PrimitiveValue | null): unknown {
  if (v === null) return null;
  const dec = decimalParams(type);
  if (dec) return Buffer.from(twosComplement(v as bigint, decimalFixedSize(type)));
  if (type === 'uuid') return Buffer.from(uuidToBytes(v as string));
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (type === 'long' || type === 'time' || type === 'timestamp' || type === 'timestamptz') return BigInt(v);
  return v;
}

function partitionFromAvro(type: PrimitiveType, v: unknown): PrimitiveValue | null {
  if (v === null || v === undefined) return null;
  if (decimalParams(type)) return fromTwosComplement(v as Uint8Array);
  if (type === 'uuid') return bytesToUuid(v as Uint8Array);
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (type === 'long' || type === 'time' || type === 'timestamp' || type === 'timestamptz') return BigInt(v as bigint | number);
  if (type === 'int' || type === 'date') return Number(v);
  return v as PrimitiveValue;
}

function countMap(m: Record<number, number> | undefined): unknown {
  if (!m) return null;
  return Object.entries(m).map(([k, v]) => ({ key: Number(k), value: BigInt(v) }));
}

function boundMap(m: Record<number, string> | undefined): unknown {
  if (!m) return null;
  return Object.entries(m).map(([k, v]) => ({ key: Number(k), value: Buffer.from(v, 'base64') }));
}

function toLong(n: number | null): bigint | null {
  return n === null ? null : BigInt(n);
}

function entryToAvro(e: ManifestEntry, resolved: ResolvedPartitionField[]): unknown {
  const f = e.dataFile;
  const partition: Record<string, unknown> = {};
  resolved.forEach((r, i) => {
    partition[partitionAvroName(r)] = partitionToAvro(r.resultType, e.partitionTuple[i] ?? null);
  });
  return {
    status: e.status,
    snapshot_id: e.snapshotId,
    sequence_number: toLong(e.sequenceNumber),
    file_sequence_number: toLong(e.fileSequenceNumber),
    data_file: {
      content: 0,
      file_path: f.filePath,
      file_format: f.fileFormat,
      partition,
      record_count: BigInt(f.recordCount),
      file_size_in_bytes: BigInt(f.fileSizeInBytes),
      column_sizes: countMap(f.columnSizes),
      value_counts: countMap(f.valueCounts),
      null_value_counts: countMap(f.nullValueCounts),
      nan_value_counts: countMap(f.nanValueCounts),
      lower_bounds: boundMap(f.lowerBounds),
      upper_bounds: boundMap(f.upperBounds),
      key_metadata: f.keyMetadata === undefined ? null : Buffer.from(f.keyMetadata, 'base64'),
      split_offsets: f.splitOffsets ? f.splitOffsets.map((o) => BigInt(o)) : null,
      equality_ids: null,
      sort_order_id: f.sortOrderId ?? null,
    },
  };
}

/** Bytes of a manifest with the key-value metadata the spec requires (schema, schema-id, partition-spec, …). */
export function encodeManifest(opts: {
  schema: IcebergSchema;
  spec: PartitionSpec;
  resolved: ResolvedPartitionField[];
  entries: ManifestEntry[];
}): Uint8Array {
  return writeAvroFile({
    schema: manifestEntrySchema(opts.resolved),
    records: opts.entries.map((e) => entryToAvro(e, opts.resolved)),
    metadata: {
      schema: stringifyJson(opts.schema),
      'schema-id': String(opts.schema['schema-id']),
      'partition-spec': stringifyJson(opts.spec.fields),
      'partition-spec-id': String(opts.spec['spec-id']),
      'format-version': '2',
      content: 'data',
    },
  });
}

export function encodeManifestList(opts: {
  manifests: ManifestFile[];
  snapshotId: bigint;
  parentSnapshotId: bigint | null;
  sequenceNumber: number;
}): Uint8Array {
  return writeAvroFile({
    schema: MANIFEST_LIST_SCHEMA,
    records: opts.manifests.map((m) => ({
      manifest_path: m.manifestPath,
      manifest_length: BigInt(m.manifestLength),
      partition_spec_id: m.partitionSpecId,
      content: m.content,
      sequence_number: BigInt(m.sequenceNumber),
      min_sequence_number: BigInt(m.minSequenceNumber),
      added_snapshot_id: m.addedSnapshotId,
      added_files_count: m.addedFilesCount,
      existing_files_count: m.existingFilesCount,
      deleted_files_count: m.deletedFilesCount,
      added_rows_count: BigInt(m.addedRowsCount),
      existing_rows_count: BigInt(m.existingRowsCount),
      deleted_rows_count: BigInt(m.deletedRowsCount),
      partitions: m.partitions
        ? m.partitions.map((p) => ({
            contains_null: p.containsNull,
            contains_nan: p.containsNan,
            lower_bound: p.lowerBound ? Buffer.from(p.lowerBound) : null,
            upper_bound: p.upperBound ? Buffer.from(p.upperBound) : null,
          }))
        : null,
      key_metadata: m.keyMetadata ? Buffer.from(m.keyMetadata) : null,
    })),
    metadata: {
      'snapshot-id': opts.snapshotId.toString(),
      'parent-snapshot-id': opts.parentSnapshotId === null ? 'null' : opts.parentSnapshotId.toString(),
      'sequence-number': String(opts.sequenceNumber),
      'format-version': '2',
    },
  });
}

// ---- decoding --------------------------------------------------------------------------------------------------

function safeNumber(v: unknown, location: string, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new CorruptMetadataError(location, `${what} is missing or not an exact integer`);
  return n;
}

function optNumber(v: unknown, location: string, what: string): number | null {
  return v === null || v === undefined ? null : safeNumber(v, location, what);
}

function pairsToCounts(v: unknown, location: string, what: string): Record<number, number> | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Record<number, number> = {};
  for (const [k, val] of v as Array<[unknown, unknown]>) out[safeNumber(k, location, `${what} key`)] = safeNumber(val, location, what);
  return out;
}

function pairsToBounds(v: unknown, location: string, what: string): Record<number, string> | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Record<number, string> = {};
  for (const [k, val] of v as Array<[unknown, unknown]>) out[safeNumber(k, location, `${what} key`)] = Buffer.from(val as Uint8Array).toString('base64');
  return out;
}

export interface DecodedManifest {
  metadata: Record<string, string>;
  entries: ManifestEntry[];
}

/**
 * Decodes a manifest by field id. `resolveSpec` maps the manifest's partition-spec-id to the table's spec (the
 * partition struct is read by partition field id, so renamed partition fields still line up).
 */
export function decodeManifest(opts: {
  bytes: Uint8Array;
  location: string;
  resolved: ResolvedPartitionField[];
  specId: number;
}): DecodedManifest {
  const { location } = opts;
  const file = readAvroFile(opts.bytes, location);
  if (file.metadata.content !== undefined && file.metadata.content !== 'data') {
    throw new CorruptMetadataError(location, `expected a data manifest, found content=${file.metadata.content}`);
  }
  const partitionExternal = (tuple: Array<PrimitiveValue | null>): Record<string, PartitionValue> => externalPartition(opts.resolved, tuple);
  const entries = file.records.map((raw, i): ManifestEntry => {
    const e = rekeyByFieldId(file.schema, raw) as ById;
    const df = e[2] as ById | null;
    if (!df) throw new CorruptMetadataError(location, `entry ${i} has no data_file (field 2)`);
    const status = e[0];
    if (status !== 0 && status !== 1 && status !== 2) throw new CorruptMetadataError(location, `entry ${i} has invalid status ${String(status)}`);
    const content = df[134];
    if (content !== undefined && content !== null && content !== 0) {
      throw new CorruptMetadataError(location, `entry ${i} is a delete file (content=${JSON.stringify(content)}) in a data manifest`);
    }
    const filePath = df[100];
    if (typeof filePath !== 'string') throw new CorruptMetadataError(location, `entry ${i} has no file_path`);
    const partitionById = (df[102] ?? {}) as ById;
    const tuple = opts.resolved.map((r) => partitionFromAvro(r.resultType, partitionById[r.field['field-id']]));
    const dataFile: DataFile = {
      filePath,
      fileFormat: (typeof df[101] === 'string' ? df[101].toUpperCase() : 'PARQUET') as DataFile['fileFormat'],
      specId: opts.specId,
      partition: partitionExternal(tuple),
      recordCount: safeNumber(df[103], location, `entry ${i} record_count`),
      fileSizeInBytes: safeNumber(df[104], location, `entry ${i} file_size_in_bytes`),
    };
    const optionalFields: Array<[keyof DataFile, unknown]> = [
      ['columnSizes', pairsToCounts(df[108], location, 'column_sizes')],
      ['valueCounts', pairsToCounts(df[109], location, 'value_counts')],
      ['nullValueCounts', pairsToCounts(df[110], location, 'null_value_counts')],
      ['nanValueCounts', pairsToCounts(df[137], location, 'nan_value_counts')],
      ['lowerBounds', pairsToBounds(df[125], location, 'lower_bounds')],
      ['upperBounds', pairsToBounds(df[128], location, 'upper_bounds')],
      ['splitOffsets', Array.isArray(df[132]) ? (df[132] as unknown[]).map((o) => safeNumber(o, location, 'split_offsets')) : undefined],
      ['sortOrderId', optNumber(df[140], location, 'sort_order_id') ?? undefined],
      ['keyMetadata', df[131] instanceof Uint8Array ? Buffer.from(df[131]).toString('base64') : undefined],
    ];
    for (const [k, v] of optionalFields) if (v !== undefined) (dataFile as unknown as Record<string, unknown>)[k] = v;
    const snapshotId = e[1];
    return {
      status,
      snapshotId: snapshotId === null || snapshotId === undefined ? null : BigInt(snapshotId as bigint | number),
      sequenceNumber: optNumber(e[3], location, 'sequence_number'),
      fileSequenceNumber: optNumber(e[4], location, 'file_sequence_number'),
      dataFile,
      partitionTuple: tuple,
    };
  });
  return { metadata: file.metadata, entries };
}

/**
 * The file_path of every entry of a data or delete manifest, whatever its partition spec: enough to check where a
 * manifest written by another engine points without binding it to the table's schemas.
 */
export function manifestFilePaths(bytes: Uint8Array, location: string): string[] {
  const file = readAvroFile(bytes, location);
  return file.records.map((raw, i) => {
    const df = (rekeyByFieldId(file.schema, raw) as ById)[2] as ById | null | undefined;
    const path = df?.[100];
    if (typeof path !== 'string') throw new CorruptMetadataError(location, `entry ${i} has no data_file.file_path`);
    return path;
  });
}

export function decodeManifestList(bytes: Uint8Array, location: string): ManifestFile[] {
  const file = readAvroFile(bytes, location);
  return file.records.map((raw, i) => {
    const m = rekeyByFieldId(file.schema, raw) as ById;
    const where = `manifest list entry ${i}`;
    const path = m[500];
    if (typeof path !== 'string') throw new CorruptMetadataError(location, `${where} has no manifest_path`);
    const content = m[517] ?? 0;
    if (content !== 0 && content !== 1) throw new CorruptMetadataError(location, `${where} has invalid content ${JSON.stringify(content)}`);
    const added = m[503];
    if (added === null || added === undefined) throw new CorruptMetadataError(location, `${where} has no added_snapshot_id`);
    const partitions = Array.isArray(m[507])
      ? (m[507] as ById[]).map((p) => ({
          containsNull: p[509] === true,
          containsNan: typeof p[518] === 'boolean' ? p[518] : null,
          lowerBound: p[510] instanceof Uint8Array ? Uint8Array.from(p[510]) : null,
          upperBound: p[511] instanceof Uint8Array ? Uint8Array.from(p[511]) : null,
        }))
      : null;
    return {
      manifestPath: path,
      manifestLength: safeNumber(m[501], location, `${where} manifest_length`),
      partitionSpecId: safeNumber(m[502], location, `${where} partition_spec_id`),
      content,
      sequenceNumber: safeNumber(m[515] ?? 0, location, `${where} sequence_number`),
      minSequenceNumber: safeNumber(m[516] ?? 0, location, `${where} min_sequence_number`),
      addedSnapshotId: BigInt(added as bigint | number),
      addedFilesCount: safeNumber(m[504], location, `${where} added_files_count`),
      existingFilesCount: safeNumber(m[505], location, `${where} existing_files_count`),
      deletedFilesCount: safeNumber(m[506], location, `${where} deleted_files_count`),
      addedRowsCount: safeNumber(m[512], location, `${where} added_rows_count`),
      existingRowsCount: safeNumber(m[513], location, `${where} existing_rows_count`),
      deletedRowsCount: safeNumber(m[514], location, `${where} deleted_rows_count`),
      partitions,
      keyMetadata: m[519] instanceof Uint8Array ? Uint8Array.from(m[519]) : null,
    } satisfies ManifestFile;
  });
}

// ---- partition summaries ---------------------------------------------------------------------------------------

/** Per-field summaries (field ids 508..511, 518) over the partition tuples of the files in one manifest. */
export function partitionSummaries(resolved: ResolvedPartitionField[], tuples: Array<Array<PrimitiveValue | null>>): FieldSummary[] {
  return resolved.map((r, i) => {
    let containsNull = false;
    let containsNan = false;
    let lower: PrimitiveValue | null = null;
    let upper: PrimitiveValue | null = null;
    for (const t of tuples) {
      const v = t[i] ?? null;
      if (v === null) {
        containsNull = true;
        continue;
      }
      if (typeof v === 'number' && Number.isNaN(v)) {
        containsNan = true;
        continue;
      }
      if (lower === null || compareValues(r.resultType, v, lower) < 0) lower = v;
      if (upper === null || compareValues(r.resultType, v, upper) > 0) upper = v;
    }
    const isFloat = r.resultType === 'float' || r.resultType === 'double';
    return {
      containsNull,
      containsNan: isFloat ? containsNan : null,
      lowerBound: lower === null ? null : toBinary(r.resultType, lower),
      upperBound: upper === null ? null : toBinary(r.resultType, upper),
    };
  });
}
