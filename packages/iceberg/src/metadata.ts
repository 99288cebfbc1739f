// Table metadata (vN.metadata.json): the v2 model, parsing with validation, serialization, and snapshot helpers.
import { randomBytes, randomUUID } from 'node:crypto';
import { CorruptMetadataError, InvalidInputError, UnsupportedTableError } from './errors.js';
import type { JsonValue } from './json.js';
import { parseJson, stringifyJson } from './json.js';
import type { PartitionSpec } from './partition.js';
import { PARTITION_FIELD_ID_START, resolvePartitionSpec } from './partition.js';
import type { IcebergSchema } from './types.js';
import { highestFieldId, parseSchema } from './types.js';

export type SnapshotOperation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface Snapshot {
  'snapshot-id': bigint;
  'parent-snapshot-id'?: bigint;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: { operation: SnapshotOperation } & Record<string, string>;
  'schema-id'?: number;
}

export interface SnapshotRef {
  'snapshot-id': bigint;
  type: 'branch' | 'tag';
  'min-snapshots-to-keep'?: number;
  'max-snapshot-age-ms'?: number;
  'max-ref-age-ms'?: number;
}

export interface SortField {
  transform: string;
  'source-id': number;
  direction: 'asc' | 'desc';
  'null-order': 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  'order-id': number;
  fields: SortField[];
}

export interface SnapshotLogEntry {
  'timestamp-ms': number;
  'snapshot-id': bigint;
}

export interface MetadataLogEntry {
  'timestamp-ms': number;
  'metadata-file': string;
}

/** Format v2 table metadata, keyed exactly as the JSON file (spec: Table Metadata Fields). */
export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  schemas: IcebergSchema[];
  'current-schema-id': number;
  'partition-specs': PartitionSpec[];
  'default-spec-id': number;
  'last-partition-id': number;
  properties: Record<string, string>;
  /** null when the table has no snapshot yet (written as -1, the v2 convention every reader accepts). */
  'current-snapshot-id': bigint | null;
  snapshots: Snapshot[];
  'snapshot-log': SnapshotLogEntry[];
  'metadata-log': MetadataLogEntry[];
  'sort-orders': SortOrder[];
  'default-sort-order-id': number;
  refs: Record<string, SnapshotRef>;
  /** Carried through untouched when another engine wrote them. */
  statistics?: JsonValue[];
  'partition-statistics'?: JsonValue[];
}

export const UNSORTED_ORDER: SortOrder = { 'order-id': 0, fields: [] };

/** How many previous metadata files the metadata-log keeps (table property, as in the reference implementation). */
export const PREVIOUS_VERSIONS_MAX_PROPERTY = 'write.metadata.previous-versions-max';
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

/** Random positive 63-bit id; retried by callers on the (astronomically unlikely) clash with an existing snapshot. */
export function newSnapshotId(): bigint {
  const id = randomBytes(8).readBigUInt64BE(0) & (2n ** 63n - 1n);
  return id === 0n ? newSnapshotId() : id;
}

/** Strips trailing slashes so `${location}/metadata/…` never doubles a separator. */
export function normalizeLocation(location: string): string {
  const trimmed = location.replace(/\/+$/, '');
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(trimmed)) {
    throw new InvalidInputError(`table location must be an absolute URI with a scheme (s3://…, file:///…), got ${JSON.stringify(location)}`);
  }
  return trimmed;
}

export function newTableMetadata(opts: {
  location: string;
  schema: IcebergSchema;
  partitionSpec: PartitionSpec;
  properties?: Record<string, string>;
  tableUuid?: string;
  nowMs?: number;
  /** Its fields (source ids of `schema`); the table is unsorted when omitted or empty. Order id 1, as the reference assigns. */
  sortOrder?: SortField[];
}): TableMetadata {
  const schema = { ...opts.schema, 'schema-id': opts.schema['schema-id'] };
  const spec = opts.partitionSpec;
  resolvePartitionSpec(schema, spec);
  const lastPartitionId = spec.fields.reduce((max, f) => Math.max(max, f['field-id']), PARTITION_FIELD_ID_START - 1);
  const sorted = opts.sortOrder && opts.sortOrder.length > 0 ? opts.sortOrder : undefined;
  return {
    'format-version': 2,
    'table-uuid': opts.tableUuid ?? randomUUID(),
    location: normalizeLocation(opts.location),
    'last-sequence-number': 0,
    'last-updated-ms': opts.nowMs ?? Date.now(),
    'last-column-id': highestFieldId(schema),
    schemas: [schema],
    'current-schema-id': schema['schema-id'],
    'partition-specs': [spec],
    'default-spec-id': spec['spec-id'],
    'last-partition-id': lastPartitionId,
    properties: { ...(opts.properties ?? {}) },
    'current-snapshot-id': null,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': sorted ? [UNSORTED_ORDER, { 'order-id': 1, fields: sorted }] : [UNSORTED_ORDER],
    'default-sort-order-id': sorted ? 1 : 0,
    refs: {},
  };
}

export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
  if (!schema) throw new InvalidInputError(`current-schema-id ${metadata['current-schema-id']} is not among the table's schemas`);
  return schema;
}

export function schemaById(metadata: TableMetadata, id: number): IcebergSchema | undefined {
  return metadata.schemas.find((s) => s['schema-id'] === id);
}

export function specById(metadata: TableMetadata, id: number): PartitionSpec | undefined {
  return metadata['partition-specs'].find((s) => s['spec-id'] === id);
}

export function defaultSpec(metadata: TableMetadata): PartitionSpec {
  const spec = specById(metadata, metadata['default-spec-id']);
  if (!spec) throw new InvalidInputError(`default-spec-id ${metadata['default-spec-id']} is not among the table's partition specs`);
  return spec;
}

export function snapshotById(metadata: TableMetadata, id: bigint): Snapshot | undefined {
  return metadata.snapshots.find((s) => s['snapshot-id'] === id);
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata['current-snapshot-id'];
  return id === null ? undefined : snapshotById(metadata, id);
}

/** The current snapshot and its ancestors, newest first (stops where history was expired). */
export function ancestors(metadata: TableMetadata, from?: bigint): Snapshot[] {
  const out: Snapshot[] = [];
  const seen = new Set<bigint>();
  let id: bigint | undefined = from ?? metadata['current-snapshot-id'] ?? undefined;
  while (id !== undefined && !seen.has(id)) {
    seen.add(id);
    const snap = snapshotById(metadata, id);
    if (!snap) break;
    out.push(snap);
    id = snap['parent-snapshot-id'];
  }
  return out;
}

/**
 * `next` as the successor of `base`, which is stored at `previousMetadataLocation`: the metadata-log gains `base`
 * (trimmed to write.metadata.previous-versions-max) and last-updated-ms moves forward — never backwards, even when
 * this host's clock is behind the previous writer's. Every commit goes through here once.
 */
export function recordPreviousMetadata(
  base: TableMetadata,
  next: TableMetadata,
  opts: { previousMetadataLocation: string; nowMs: number },
): TableMetadata {
  const maxPrevious = Number(next.properties[PREVIOUS_VERSIONS_MAX_PROPERTY] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
  const keep = Number.isInteger(maxPrevious) && maxPrevious >= 1 ? maxPrevious : DEFAULT_PREVIOUS_VERSIONS_MAX;
  const metadataLog = [...base['metadata-log'], { 'timestamp-ms': base['last-updated-ms'], 'metadata-file': opts.previousMetadataLocation }];
  return {
    ...next,
    'last-updated-ms': Math.max(opts.nowMs, base['last-updated-ms'] + 1, next['last-updated-ms']),
    'metadata-log': metadataLog.slice(Math.max(0, metadataLog.length - keep)),
  };
}

function toJsonObject(metadata: TableMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {
    'format-version': metadata['format-version'],
    'table-uuid': metadata['table-uuid'],
    location: metadata.location,
    'last-sequence-number': metadata['last-sequence-number'],
    'last-updated-ms': metadata['last-updated-ms'],
    'last-column-id': metadata['last-column-id'],
    'current-schema-id': metadata['current-schema-id'],
    schemas: metadata.schemas,
    'default-spec-id': metadata['default-spec-id'],
    'partition-specs': metadata['partition-specs'],
    'last-partition-id': metadata['last-partition-id'],
    'default-sort-order-id': metadata['default-sort-order-id'],
    'sort-orders': metadata['sort-orders'],
    properties: metadata.properties,
    'current-snapshot-id': metadata['current-snapshot-id'] ?? -1,
    refs: metadata.refs,
    snapshots: metadata.snapshots,
    'snapshot-log': metadata['snapshot-log'],
    'metadata-log': metadata['metadata-log'],
  };
  if (metadata.statistics) out.statistics = metadata.statistics;
  if (metadata['partition-statistics']) out['partition-statistics'] = metadata['partition-statistics'];
  return out;
}

/** The metadata as the JSON value the spec describes (for the REST catalog's loadTable response). */
export function tableMetadataToJson(metadata: TableMetadata): Record<string, unknown> {
  return toJsonObject(metadata);
}

// The JSON bytes of each committed snapshot and snapshot-log entry. Neither changes once committed (committed-cache.ts
// freezes them) and later commits share the same objects (applyUpdates copies the lists, not their entries), so the
// metadata file of a table with a long history re-serializes only what is new, and the bulk of it is copied as bytes
// rather than stringified (through the bigint-aware replacer) and UTF-8-encoded again on every commit: both grew each
// append's CPU with the table's history.
const entryBytes = new WeakMap<object, Buffer>();

function jsonBytesOf(entry: Snapshot | SnapshotLogEntry, nested?: object): Buffer {
  let bytes = entryBytes.get(entry);
  if (bytes === undefined) {
    const text = stringifyJson(entry);
    // Its own allocation, not a slice of Node's shared pool: a cached slice would keep its whole 8 KB slab alive.
    bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
    bytes.write(text, 'utf8');
    if (Object.isFrozen(entry) && (nested === undefined || Object.isFrozen(nested))) entryBytes.set(entry, bytes);
  }
  return bytes;
}

const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

function jsonArrayParts(entries: ReadonlyArray<Snapshot | SnapshotLogEntry>, nested: (e: Snapshot | SnapshotLogEntry) => object | undefined): Buffer[] {
  const parts: Buffer[] = [OPEN];
  entries.forEach((e, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(jsonBytesOf(e, nested(e)));
  });
  parts.push(CLOSE);
  return parts;
}

export function serializeTableMetadata(metadata: TableMetadata): string {
  return serializeTableMetadataBytes(metadata).toString('utf8');
}

export function serializeTableMetadataBytes(metadata: TableMetadata): Buffer {
  // The small part is stringified with slots where the two long lists go; the lists are spliced in as bytes.
  const tag = randomBytes(12).toString('hex');
  const snapshotsSlot = `atoll-snapshots-${tag}`;
  const logSlot = `atoll-snapshot-log-${tag}`;
  const text = stringifyJson({ ...toJsonObject(metadata), snapshots: snapshotsSlot, 'snapshot-log': logSlot }, 2);
  const [head, afterSnapshots] = splitOnce(text, `"${snapshotsSlot}"`);
  const [middle, tail] = splitOnce(afterSnapshots, `"${logSlot}"`);
  return Buffer.concat([
    Buffer.from(head, 'utf8'),
    ...jsonArrayParts(metadata.snapshots, (e) => (e as Snapshot).summary),
    Buffer.from(middle, 'utf8'),
    ...jsonArrayParts(metadata['snapshot-log'], () => undefined),
    Buffer.from(tail, 'utf8'),
  ]);
}

function splitOnce(text: string, marker: string): [string, string] {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`serializing table metadata: ${marker} not found`);
  return [text.slice(0, at), text.slice(at + marker.length)];
}

// ---- parsing ---------------------------------------------------------------------------------------------------

class Reader {
  constructor(readonly location: string) {}
  fail(problem: string): never {
    throw new CorruptMetadataError(this.location, problem);
  }
  obj(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${where} must be an object`);
    return v as Record<string, unknown>;
  }
  arr(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(`${where} must be an array`);
    return v as unknown[];
  }
  int(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`${where} must be an integer`);
    return v;
  }
  long(v: unknown, where: string): bigint {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    return this.fail(`${where} must be a long`);
  }
  str(v: unknown, where: string): string {
    if (typeof v !== 'string') this.fail(`${where} must be a string`);
    return v;
  }
}

function parseSnapshot(r: Reader, v: unknown, i: number): Snapshot {
  const o = r.obj(v, `snapshots[${i}]`);
  const summaryIn = r.obj(o.summary, `snapshots[${i}].summary`);
  const summary: Record<string, string> = {};
  for (const [k, val] of Object.entries(summaryIn)) summary[k] = typeof val === 'string' ? val : String(val);
  const op = summary.operation;
  if (op !== 'append' && op !== 'replace' && op !== 'overwrite' && op !== 'delete') {
    r.fail(`snapshots[${i}].summary.operation must be append, replace, overwrite or delete`);
  }
  if (typeof o['manifest-list'] !== 'string') r.fail(`snapshots[${i}].manifest-list is required in format v2`);
  const snap: Snapshot = {
    'snapshot-id': r.long(o['snapshot-id'], `snapshots[${i}].snapshot-id`),
    'sequence-number': r.int(o['sequence-number'], `snapshots[${i}].sequence-number`),
    'timestamp-ms': r.int(o['timestamp-ms'], `snapshots[${i}].timestamp-ms`),
    'manifest-list': o['manifest-list'],
    summary: summary as Snapshot['summary'],
  };
  if (o['parent-snapshot-id'] !== undefined && o['parent-snapshot-id'] !== null) {
    snap['parent-snapshot-id'] = r.long(o['parent-snapshot-id'], `snapshots[${i}].parent-snapshot-id`);
  }
  if (o['schema-id'] !== undefined && o['schema-id'] !== null) snap['schema-id'] = r.int(o['schema-id'], `snapshots[${i}].schema-id`);
  return snap;
}

function parseSpec(r: Reader, v: unknown, i: number): PartitionSpec {
  const o = r.obj(v, `partition-specs[${i}]`);
  return {
    'spec-id': r.int(o['spec-id'], `partition-specs[${i}].spec-id`),
    fields: r.arr(o.fields, `partition-specs[${i}].fields`).map((f, j) => {
      const fo = r.obj(f, `partition-specs[${i}].fields[${j}]`);
      return {
        'source-id': r.int(fo['source-id'], `partition-specs[${i}].fields[${j}].source-id`),
        'field-id': r.int(fo['field-id'], `partition-specs[${i}].fields[${j}].field-id`),
        name: r.str(fo.name, `partition-specs[${i}].fields[${j}].name`),
        transform: r.str(fo.transform, `partition-specs[${i}].fields[${j}].transform`),
      };
    }),
  };
}

function parseSortOrder(r: Reader, v: unknown, i: number): SortOrder {
  const o = r.obj(v, `sort-orders[${i}]`);
  return {
    'order-id': r.int(o['order-id'], `sort-orders[${i}].order-id`),
    fields: r.arr(o.fields, `sort-orders[${i}].fields`).map((f, j) => {
      const fo = r.obj(f, `sort-orders[${i}].fields[${j}]`);
      return {
        transform: r.str(fo.transform, `sort-orders[${i}].fields[${j}].transform`),
        'source-id': r.int(fo['source-id'], `sort-orders[${i}].fields[${j}].source-id`),
        direction: r.str(fo.direction, `sort-orders[${i}].fields[${j}].direction`) as SortField['direction'],
        'null-order': r.str(fo['null-order'], `sort-orders[${i}].fields[${j}].null-order`) as SortField['null-order'],
      };
    }),
  };
}

/** Parses and validates a v2 metadata file; `location` is only used in error messages. */
export function parseTableMetadata(bytes: Uint8Array | string, location: string): TableMetadata {
  const r = new Reader(location);
  let json: JsonValue;
  try {
    json = parseJson(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new CorruptMetadataError(location, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const o = r.obj(json, 'metadata');
  const version = o['format-version'];
  if (version !== 2) {
    // Spec: implementations must refuse versions above what they support; v1 tables are never written by Atoll.
    if (typeof version === 'number' && version > 2) throw new UnsupportedTableError(`table metadata ${location} has format-version ${version}; Atoll supports format version 2`);
    if (version === 1) throw new UnsupportedTableError(`table metadata ${location} has format-version 1; Atoll reads and writes format version 2 only`);
    r.fail('format-version is missing or invalid');
  }
  const required = [
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
  for (const key of required) if (o[key] === undefined) r.fail(`required field ${key} is missing`);

  let schemas: IcebergSchema[];
  try {
    schemas = r.arr(o.schemas, 'schemas').map((s, i) => parseSchema(s, `schemas[${i}]`));
  } catch (err) {
    if (err instanceof CorruptMetadataError) throw err;
    throw new CorruptMetadataError(location, (err as Error).message, { cause: err });
  }
  const properties: Record<string, string> = {};
  if (o.properties !== undefined && o.properties !== null) {
    for (const [k, v] of Object.entries(r.obj(o.properties, 'properties'))) properties[k] = r.str(v, `properties.${k}`);
  }
  const rawCurrent = o['current-snapshot-id'];
  let current: bigint | null = rawCurrent === undefined || rawCurrent === null ? null : r.long(rawCurrent, 'current-snapshot-id');
  if (current === -1n) current = null;
  const snapshots = o.snapshots === undefined || o.snapshots === null ? [] : r.arr(o.snapshots, 'snapshots').map((s, i) => parseSnapshot(r, s, i));
  const refs: Record<string, SnapshotRef> = {};
  if (o.refs !== undefined && o.refs !== null) {
    for (const [name, v] of Object.entries(r.obj(o.refs, 'refs'))) {
      const ro = r.obj(v, `refs.${name}`);
      const type = ro.type;
      if (type !== 'branch' && type !== 'tag') r.fail(`refs.${name}.type must be branch or tag`);
      const ref: SnapshotRef = { 'snapshot-id': r.long(ro['snapshot-id'], `refs.${name}.snapshot-id`), type: type as SnapshotRef['type'] };
      for (const k of ['min-snapshots-to-keep', 'max-snapshot-age-ms', 'max-ref-age-ms'] as const) {
        if (typeof ro[k] === 'number') ref[k] = ro[k];
      }
      refs[name] = ref;
    }
  }
  // Spec: there is always a main branch at current-snapshot-id, even when refs is absent.
  if (current !== null && !refs.main) refs.main = { 'snapshot-id': current, type: 'branch' };
  const metadata: TableMetadata = {
    'format-version': 2,
    'table-uuid': r.str(o['table-uuid'], 'table-uuid'),
    location: r.str(o.location, 'location').replace(/\/+$/, ''),
    'last-sequence-number': r.int(o['last-sequence-number'], 'last-sequence-number'),
    'last-updated-ms': r.int(o['last-updated-ms'], 'last-updated-ms'),
    'last-column-id': r.int(o['last-column-id'], 'last-column-id'),
    schemas,
    'current-schema-id': r.int(o['current-schema-id'], 'current-schema-id'),
    'partition-specs': r.arr(o['partition-specs'], 'partition-specs').map((s, i) => parseSpec(r, s, i)),
    'default-spec-id': r.int(o['default-spec-id'], 'default-spec-id'),
    'last-partition-id': r.int(o['last-partition-id'], 'last-partition-id'),
    properties,
    'current-snapshot-id': current,
    snapshots,
    'snapshot-log':
      o['snapshot-log'] === undefined || o['snapshot-log'] === null
        ? []
        : r.arr(o['snapshot-log'], 'snapshot-log').map((e, i) => {
            const eo = r.obj(e, `snapshot-log[${i}]`);
            return { 'timestamp-ms': r.int(eo['timestamp-ms'], `snapshot-log[${i}].timestamp-ms`), 'snapshot-id': r.long(eo['snapshot-id'], `snapshot-log[${i}].snapshot-id`) };
          }),
    'metadata-log':
      o['metadata-log'] === undefined || o['metadata-log'] === null
        ? []
        : r.arr(o['metadata-log'], 'metadata-log').map((e, i) => {
            const eo = r.obj(e, `metadata-log[${i}]`);
            return { 'timestamp-ms': r.int(eo['timestamp-ms'], `metadata-log[${i}].timestamp-ms`), 'metadata-file': r.str(eo['metadata-file'], `metadata-log[${i}].metadata-file`) };
          }),
    'sort-orders': r.arr(o['sort-orders'], 'sort-orders').map((s, i) => parseSortOrder(r, s, i)),
    'default-sort-order-id': r.int(o['default-sort-order-id'], 'default-sort-order-id'),
    refs,
  };
  if (Array.isArray(o.statistics)) metadata.statistics = o.statistics as JsonValue[];
  if (Array.isArray(o['partition-statistics'])) metadata['partition-statistics'] = o['partition-statistics'] as JsonValue[];

  if (!metadata.schemas.some((s) => s['schema-id'] === metadata['current-schema-id'])) r.fail('current-schema-id does not name a schema');
  if (!metadata['partition-specs'].some((s) => s['spec-id'] === metadata['default-spec-id'])) r.fail('default-spec-id does not name a partition spec');
  if (current !== null && !snapshotById(metadata, current)) r.fail(`current-snapshot-id ${current} does not name a snapshot`);
  const main = metadata.refs.main;
  if (main && main['snapshot-id'] !== current) r.fail('refs.main does not point at current-snapshot-id');
  return metadata;
}

/** Version number N of a `…/vN.metadata.json` location, or null for other naming schemes. */
export function metadataVersion(location: string): number | null {
  const m = /\/v(\d+)\.metadata\.json$/.exec(location);
  return m ? Number(m[1]) : null;
}
