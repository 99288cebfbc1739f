// Table lifecycle and snapshot commits: create/load, append, copy-on-write overwrite, scan planning. Commits write
// manifests + manifest list + v<N+1>.metadata.json, then compare-and-swap the catalog pointer, retrying on conflict.
import { mapLimited } from './concurrency.js';
import { randomUUID } from 'node:crypto';
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier, validateIdentifier } from './catalog-store.js';
import {
  CommitConflictError,
  CorruptMetadataError,
  InvalidInputError,
  TableAlreadyExistsError,
  TableNotFoundError,
  UnsupportedTableError,
  isObjectAlreadyExists,
  isObjectNotFound,
} from './errors.js';
import type { ObjectIO } from './io.js';
import type { DataFile, ManifestEntry, ManifestFile } from './manifest.js';
import { decodeManifest, decodeManifestList, encodeManifest, encodeManifestList, partitionSummaries } from './manifest.js';
import type { Snapshot, SnapshotOperation, TableMetadata } from './metadata.js';
import {
  ancestors,
  currentSchema,
  currentSnapshot,
  metadataVersion,
  newSnapshotId,
  newTableMetadata,
  normalizeLocation,
  parseTableMetadata,
  schemaById,
  serializeTableMetadataBytes,
  snapshotById,
  specById,
  withSnapshot,
} from './metadata.js';
import type { PartitionFieldInput, PartitionSpec, ResolvedPartitionField } from './partition.js';
import { UNPARTITIONED_SPEC, buildPartitionSpec, normalizePartition, resolvePartitionSpec } from './partition.js';
import type { PrimitiveValue } from './conversions.js';
import type { IcebergSchema } from './types.js';
import { validateSchema } from './types.js';

export interface LoadedTable {
  id: TableIdentifier;
  metadata: TableMetadata;
  metadataLocation: string;
}

export interface CommitResult {
  /** The snapshot this call committed, or the earlier one that already carried the commit id. */
  snapshotId: bigint;
  metadataLocation: string;
  /** True when a snapshot with the same commit id was already in the table's history; nothing was written. */
  alreadyCommitted: boolean;
}

/** Summary key holding the caller's idempotency key. */
export const COMMIT_ID_SUMMARY_KEY = 'atoll.commit-id';
const DEFAULT_MAX_RETRIES = 30;
const RETRY_MIN_WAIT_MS = 10;
const RETRY_MAX_WAIT_MS = 1000;
// Version numbers to skip past when v<N+1> exists but was never committed (a crashed writer's leftover).
const MAX_VERSION_PROBES = 16;
const MANIFEST_READ_CONCURRENCY = 8;

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

function metadataDir(metadata: TableMetadata): string {
  return `${metadata.location}/metadata`;
}

export function versionHintLocation(tableLocation: string): string {
  return `${tableLocation.replace(/\/+$/, '')}/metadata/version-hint.text`;
}

/** Where writers should put data files: `write.data.path` if set, else `<location>/data`. */
export function dataLocation(metadata: TableMetadata): string {
  return (metadata.properties['write.data.path'] ?? `${metadata.location}/data`).replace(/\/+$/, '');
}

/** A fresh, collision-free data file URI under the table's data location. */
export function newDataFileUri(metadata: TableMetadata, extension = 'parquet'): string {
  return `${dataLocation(metadata)}/${Date.now().toString(36)}-${randomUUID()}.${extension}`;
}

/** Reads and parses one metadata file. */
export async function readTableMetadata(io: ObjectIO, location: string): Promise<TableMetadata> {
  let bytes: Uint8Array;
  try {
    bytes = await io.read(location);
  } catch (err) {
    if (isObjectNotFound(err)) throw new CorruptMetadataError(location, 'the metadata file the catalog points at does not exist', { cause: err });
    throw err;
  }
  return parseTableMetadata(bytes, location);
}

export async function loadTable(opts: { io: ObjectIO; catalog: CatalogStore; id: TableIdentifier }): Promise<LoadedTable> {
  validateIdentifier(opts.id);
  const pointer = await opts.catalog.load(opts.id);
  if (!pointer) throw new TableNotFoundError(formatIdentifier(opts.id));
  return { id: opts.id, metadata: await readTableMetadata(opts.io, pointer.metadataLocation), metadataLocation: pointer.metadataLocation };
}

/** Writes `metadata/vN.metadata.json` for the first free N ≥ `from` (create-if-absent), returning its location. */
// Exported for maintenance.ts / evolution.ts (metadata-only commits); not part of the package's public surface.
export async function writeNewMetadataVersion(io: ObjectIO, metadata: TableMetadata, from: number): Promise<string | null> {
  const bytes = serializeTableMetadataBytes(metadata);
  for (let v = from; v < from + MAX_VERSION_PROBES; v++) {
    const location = `${metadataDir(metadata)}/v${v}.metadata.json`;
    try {
      await io.write(location, bytes, { ifNoneMatch: true });
      return location;
    } catch (err) {
      if (!isObjectAlreadyExists(err)) throw err;
      // Another writer holds this version (committing now, or crashed before its swap): try the next number.
    }
  }
  return null;
}

/**
 * Points `metadata/version-hint.text` at the catalog's current version. Concurrent committers may finish out of
 * order, so after writing we re-read the pointer and rewrite until the hint matches what is current.
 */
export async function writeVersionHint(opts: { io: ObjectIO; catalog: CatalogStore; id: TableIdentifier; location: string }): Promise<void> {
  const hint = versionHintLocation(opts.location);
  let current = await opts.catalog.load(opts.id);
  for (let i = 0; i < 8 && current; i++) {
    const version = metadataVersion(current.metadataLocation);
    // Only our own vN naming under this table's metadata/ can be expressed as a bare-integer hint.
    if (version === null || !current.metadataLocation.startsWith(`${opts.location.replace(/\/+$/, '')}/metadata/`)) return;
    await opts.io.write(hint, utf8(String(version)));
    const after = await opts.catalog.load(opts.id);
    if (!after || after.metadataLocation === current.metadataLocation) return;
    current = after;
  }
}

export interface CreateTableOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  /** Absolute table location, e.g. s3://lake/raw/events or file:///tmp/t. */
  location: string;
  schema: IcebergSchema;
  /** Column-name form (`[{ sourceColumn: 'ts', transform: 'day' }]`) or a full spec. Unpartitioned when omitted. */
  partitionSpec?: PartitionFieldInput[] | PartitionSpec;
  properties?: Record<string, string>;
  /** Return the existing table instead of throwing TableAlreadyExistsError (idempotent job steps). */
  ifNotExists?: boolean;
}

export async function createTable(opts: CreateTableOptions): Promise<LoadedTable> {
  validateIdentifier(opts.id);
  validateSchema(opts.schema);
  const name = formatIdentifier(opts.id);
  const existing = await opts.catalog.load(opts.id);
  if (existing) {
    if (opts.ifNotExists) return loadTable(opts);
    throw new TableAlreadyExistsError(name);
  }
  const location = normalizeLocation(opts.location);
  // Two catalog entries sharing one location would interleave versions and fight over version-hint.text.
  if (await opts.io.exists(versionHintLocation(location))) {
    throw new TableAlreadyExistsError(name, `location ${location} already holds an Iceberg table (metadata/version-hint.text exists)`);
  }
  const spec = opts.partitionSpec === undefined ? UNPARTITIONED_SPEC : Array.isArray(opts.partitionSpec) ? buildPartitionSpec(opts.schema, opts.partitionSpec) : opts.partitionSpec;
  const metadata = newTableMetadata({ location, schema: opts.schema, partitionSpec: spec, ...(opts.properties ? { properties: opts.properties } : {}) });
  const metadataLocation = await writeNewMetadataVersion(opts.io, metadata, 1);
  if (!metadataLocation) throw new TableAlreadyExistsError(name, `location ${location} already holds metadata files v1..v${MAX_VERSION_PROBES}`);
  try {
    await opts.catalog.create(opts.id, metadataLocation);
  } catch (err) {
    await opts.io.delete(metadataLocation).catch(() => undefined);
    if (err instanceof TableAlreadyExistsError && opts.ifNotExists) return loadTable(opts);
    throw err;
  }
  await writeVersionHint({ io: opts.io, catalog: opts.catalog, id: opts.id, location });
  return { id: opts.id, metadata, metadataLocation };
}

/** Removes the table from the catalog. Files stay (no listing in ObjectIO); purge them with the storage layer. */
export async function dropTable(opts: { catalog: CatalogStore; id: TableIdentifier }): Promise<boolean> {
  validateIdentifier(opts.id);
  return opts.catalog.drop(opts.id);
}

// ---- reading snapshots -----------------------------------------------------------------------------------------

function resolvedSpec(metadata: TableMetadata, specId: number, where: string): { spec: PartitionSpec; resolved: ResolvedPartitionField[] } {
  const spec = specById(metadata, specId);
  if (!spec) throw new CorruptMetadataError(where, `partition spec ${specId} is not in the table metadata`);
  // Resolve against the newest schema that has every source column; spec source ids never change meaning.
  const schemas = [currentSchema(metadata), ...metadata.schemas];
  let lastError: unknown;
  for (const schema of schemas) {
    try {
      return { spec, resolved: resolvePartitionSpec(schema, spec) };
    } catch (err) {
      lastError = err;
    }
  }
  throw new CorruptMetadataError(where, `partition spec ${specId} does not resolve against the table's schemas`, { cause: lastError });
}

export async function readManifestList(io: ObjectIO, snapshot: Snapshot): Promise<ManifestFile[]> {
  const location = snapshot['manifest-list'];
  let bytes: Uint8Array;
  try {
    bytes = await io.read(location);
  } catch (err) {
    if (isObjectNotFound(err)) throw new CorruptMetadataError(location, `manifest list of snapshot ${snapshot['snapshot-id']} does not exist`, { cause: err });
    throw err;
  }
  return decodeManifestList(bytes, location);
}

export async function readManifestEntries(io: ObjectIO, metadata: TableMetadata, manifest: ManifestFile): Promise<ManifestEntry[]> {
  if (manifest.content !== 0) throw new UnsupportedTableError(`manifest ${manifest.manifestPath} tracks delete files; Atoll does not support row-level deletes`);
  const { resolved } = resolvedSpec(metadata, manifest.partitionSpecId, manifest.manifestPath);
  let bytes: Uint8Array;
  try {
    bytes = await io.read(manifest.manifestPath);
  } catch (err) {
    if (isObjectNotFound(err)) throw new CorruptMetadataError(manifest.manifestPath, 'manifest listed in the manifest list does not exist', { cause: err });
    throw err;
  }
  return decodeManifest({ bytes, location: manifest.manifestPath, resolved, specId: manifest.partitionSpecId }).entries;
}

/** Live data files of a snapshot (the current one by default); empty for a table without snapshots. */
export async function planFiles(opts: { io: ObjectIO; metadata: TableMetadata; snapshotId?: bigint | number }): Promise<DataFile[]> {
  let snapshot: Snapshot | undefined;
  if (opts.snapshotId !== undefined) {
    snapshot = snapshotById(opts.metadata, BigInt(opts.snapshotId));
    if (!snapshot) throw new InvalidInputError(`snapshot ${opts.snapshotId} is not in table ${opts.metadata.location}`);
  } else {
    snapshot = currentSnapshot(opts.metadata);
  }
  if (!snapshot) return [];
  const manifests = await readManifestList(opts.io, snapshot);
  const perManifest = await mapLimited(manifests, MANIFEST_READ_CONCURRENCY, async (m) => {
    if (m.content === 0 && m.addedFilesCount + m.existingFilesCount === 0) return [];
    const entries = await readManifestEntries(opts.io, opts.metadata, m);
    return entries.filter((e) => e.status !== 2).map((e) => e.dataFile);
  });
  return perManifest.flat();
}

/**
 * Data files added and removed by the snapshots after `fromSnapshotId` up to the current one (or `toSnapshotId`),
 * following parent links: what an incremental reader has to process. `fromSnapshotId` null means "from the start".
 */
export async function planChanges(opts: {
  io: ObjectIO;
  metadata: TableMetadata;
  fromSnapshotId: bigint | number | null;
  toSnapshotId?: bigint | number;
}): Promise<{ added: DataFile[]; removed: DataFile[]; snapshots: Snapshot[] }> {
  const to = opts.toSnapshotId === undefined ? opts.metadata['current-snapshot-id'] : BigInt(opts.toSnapshotId);
  if (to === null) return { added: [], removed: [], snapshots: [] };
  const from = opts.fromSnapshotId === null ? null : BigInt(opts.fromSnapshotId);
  const chain: Snapshot[] = [];
  let reached = from === null;
  for (const snap of ancestors(opts.metadata, to)) {
    if (from !== null && snap['snapshot-id'] === from) {
      reached = true;
      break;
    }
    chain.push(snap);
  }
  if (!reached) throw new InvalidInputError(`snapshot ${String(opts.fromSnapshotId)} is not an ancestor of ${to} (expired or on another branch)`);
  chain.reverse();
  if (from === null && chain[0]?.['parent-snapshot-id'] !== undefined) {
    // "From the start" over a history whose oldest snapshots were expired: the net change is every live file of `to`.
    return { added: await planFiles({ io: opts.io, metadata: opts.metadata, snapshotId: to }), removed: [], snapshots: chain };
  }
  const added = new Map<string, DataFile>();
  const removed: DataFile[] = [];
  for (const snap of chain) {
    const id = snap['snapshot-id'];
    // A replace (compaction, manifest rewrite) moves rows between files without changing them: an incremental
    // reader that already saw the originals must not see their rows again in the rewritten files.
    if (snap.summary.operation === 'replace') continue;
    const manifests = (await readManifestList(opts.io, snap)).filter((m) => m.addedSnapshotId === id);
    const entries = (await mapLimited(manifests, MANIFEST_READ_CONCURRENCY, (m) => readManifestEntries(opts.io, opts.metadata, m))).flat();
    for (const e of entries) {
      if (e.snapshotId !== null && e.snapshotId !== id) continue;
      if (e.status === 1) added.set(e.dataFile.filePath, e.dataFile);
      else if (e.status === 2) {
        // A file added and removed inside the range never needs to be seen.
        if (!added.delete(e.dataFile.filePath)) removed.push(e.dataFile);
      }
    }
  }
  return { added: [...added.values()], removed, snapshots: chain };
}

// ---- commits ---------------------------------------------------------------------------------------------------

export interface PreparedSnapshot {
  operation: SnapshotOperation;
  manifests: ManifestFile[];
  summary: Record<string, string>;
  /** Files written only for this attempt (rewritten manifests); deleted if the attempt loses the race. */
  attemptFiles: string[];
}

export interface PrepareContext {
  base: LoadedTable;
  snapshotId: bigint;
  sequenceNumber: number;
  attempt: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function deleteQuietly(io: ObjectIO, uris: string[]): Promise<void> {
  await Promise.all(uris.map((u) => io.delete(u).catch(() => undefined)));
}

function findCommit(metadata: TableMetadata, commitId: string): Snapshot | undefined {
  return ancestors(metadata).find((s) => s.summary[COMMIT_ID_SUMMARY_KEY] === commitId);
}

/**
 * The optimistic-concurrency loop shared by all snapshot-producing operations. The snapshot id stays the same across
 * attempts (so manifests of new files are written once and reused); the sequence number, manifest list and metadata
 * file are redone against each fresh base.
 */
export async function commitSnapshot(opts: {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  commitId?: string;
  maxRetries?: number;
  prepare: (ctx: PrepareContext) => Promise<PreparedSnapshot>;
  /** Files reused across attempts, deleted if the operation finally fails. */
  sharedFiles: () => string[];
  onNewSnapshotId: () => void;
}): Promise<CommitResult> {
  const { io, catalog, id } = opts;
  const name = formatIdentifier(id);
  let snapshotId = newSnapshotId();
  let tableUuid: string | undefined;
  let uncertain = false;
  let lastConflict = '';
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  let committed = false;
  try {
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (attempt > 0) {
        // Full jitter: concurrent losers spread out instead of colliding again in lockstep.
        await sleep(Math.random() * Math.min(RETRY_MAX_WAIT_MS, RETRY_MIN_WAIT_MS * 2 ** attempt));
      }
      const base = await loadTable({ io, catalog, id });
      if (tableUuid !== undefined && base.metadata['table-uuid'] !== tableUuid) {
        throw new CommitConflictError(`table ${name} was replaced while committing (uuid ${tableUuid} → ${base.metadata['table-uuid']})`);
      }
      tableUuid = base.metadata['table-uuid'];
      if (opts.commitId !== undefined) {
        const done = findCommit(base.metadata, opts.commitId);
        if (done) {
          committed = true;
          await writeVersionHint({ io, catalog, id, location: base.metadata.location });
          // Our own earlier attempt whose swap outcome was unknown is a fresh commit, not a duplicate.
          return { snapshotId: done['snapshot-id'], metadataLocation: base.metadataLocation, alreadyCommitted: !(uncertain && done['snapshot-id'] === snapshotId) };
        }
      }
      if (snapshotById(base.metadata, snapshotId)) {
        if (uncertain) {
          // An earlier swap whose outcome we could not observe did land.
          committed = true;
          await writeVersionHint({ io, catalog, id, location: base.metadata.location });
          return { snapshotId, metadataLocation: base.metadataLocation, alreadyCommitted: false };
        }
        snapshotId = newSnapshotId(); // random clash with an existing snapshot: pick another id
        opts.onNewSnapshotId();
      }
      const sequenceNumber = base.metadata['last-sequence-number'] + 1;
      const prepared = await opts.prepare({ base, snapshotId, sequenceNumber, attempt });
      const parent = currentSnapshot(base.metadata);
      const attemptFiles = [...prepared.attemptFiles];
      const manifestListLocation = `${metadataDir(base.metadata)}/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
      await io.write(
        manifestListLocation,
        encodeManifestList({ manifests: prepared.manifests, snapshotId, parentSnapshotId: parent ? parent['snapshot-id'] : null, sequenceNumber }),
        { ifNoneMatch: true },
      );
      attemptFiles.push(manifestListLocation);
      // Snapshot time doubles as last-updated-ms and the snapshot-log time; keep it strictly increasing per table.
      const nowMs = Math.max(Date.now(), base.metadata['last-updated-ms'] + 1);
      const snapshot: Snapshot = {
        'snapshot-id': snapshotId,
        ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
        'sequence-number': sequenceNumber,
        'timestamp-ms': nowMs,
        'manifest-list': manifestListLocation,
        summary: { operation: prepared.operation, ...prepared.summary },
        'schema-id': base.metadata['current-schema-id'],
      };
      const next = withSnapshot(base.metadata, snapshot, { previousMetadataLocation: base.metadataLocation, nowMs });
      const baseVersion = metadataVersion(base.metadataLocation) ?? base.metadata['metadata-log'].length + 1;
      const nextLocation = await writeNewMetadataVersion(io, next, baseVersion + 1);
      if (nextLocation === null) {
        lastConflict = `metadata versions v${baseVersion + 1}..v${baseVersion + MAX_VERSION_PROBES} are all taken`;
        await deleteQuietly(io, attemptFiles);
        continue;
      }
      attemptFiles.push(nextLocation);
      let swapped: boolean;
      try {
        swapped = await catalog.compareAndSwap(id, base.metadataLocation, nextLocation);
      } catch (err) {
        // The swap may have happened even though we saw an error (e.g. the connection dropped after COMMIT). Keep
        // this attempt's files — they may be live — and let the next attempt detect our snapshot id in the table.
        uncertain = true;
        lastConflict = `compare-and-swap failed: ${(err as Error).message}`;
        if (attempt === maxRetries) throw err;
        continue;
      }
      if (swapped) {
        committed = true;
        await writeVersionHint({ io, catalog, id, location: base.metadata.location });
        return { snapshotId, metadataLocation: nextLocation, alreadyCommitted: false };
      }
      lastConflict = `${base.metadataLocation} was no longer current`;
      await deleteQuietly(io, attemptFiles);
    }
    throw new CommitConflictError(`commit to table ${name} failed after ${maxRetries + 1} attempts (last: ${lastConflict})`);
  } finally {
    if (!committed && !uncertain) await deleteQuietly(io, opts.sharedFiles());
  }
}

function validateDataFiles(files: DataFile[], what: string): void {
  const paths = new Set<string>();
  files.forEach((f, i) => {
    const where = `${what}[${i}] (${f.filePath})`;
    if (typeof f.filePath !== 'string' || !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(f.filePath)) {
      throw new InvalidInputError(`${what}[${i}]: filePath must be an absolute URI with a scheme`);
    }
    if (paths.has(f.filePath)) throw new InvalidInputError(`${where}: the same file is listed twice`);
    paths.add(f.filePath);
    if (f.fileFormat !== 'PARQUET' && f.fileFormat !== 'AVRO' && f.fileFormat !== 'ORC') throw new InvalidInputError(`${where}: unknown fileFormat ${String(f.fileFormat)}`);
    if (!Number.isSafeInteger(f.recordCount) || f.recordCount < 0) throw new InvalidInputError(`${where}: recordCount must be a non-negative integer`);
    if (!Number.isSafeInteger(f.fileSizeInBytes) || f.fileSizeInBytes < 0) throw new InvalidInputError(`${where}: fileSizeInBytes must be a non-negative integer`);
  });
}

interface PendingFile {
  file: DataFile;
  specId: number;
  tuple: Array<PrimitiveValue | null>;
}

/** Validates files against the table and groups them by partition spec (one new manifest per spec). */
function pendingFiles(metadata: TableMetadata, files: DataFile[], what: string): Map<number, PendingFile[]> {
  const groups = new Map<number, PendingFile[]>();
  files.forEach((file, i) => {
    const specId = file.specId ?? metadata['default-spec-id'];
    const { resolved } = resolvedSpec(metadata, specId, metadata.location);
    const tuple = normalizePartition(resolved, file.partition, `${what}[${i}] (${file.filePath})`);
    const group = groups.get(specId) ?? [];
    group.push({ file: { ...file, specId }, specId, tuple });
    groups.set(specId, group);
  });
  return groups;
}

export interface ManifestWriteContext {
  io: ObjectIO;
  metadata: TableMetadata;
  schema: IcebergSchema;
}

export async function writeManifest(ctx: ManifestWriteContext, specId: number, entries: ManifestEntry[], meta: {
  addedSnapshotId: bigint;
  sequenceNumber: number;
  minSequenceNumber: number;
}): Promise<ManifestFile> {
  const { spec, resolved } = resolvedSpec(ctx.metadata, specId, ctx.metadata.location);
  const bytes = encodeManifest({ schema: ctx.schema, spec, resolved, entries });
  const location = `${metadataDir(ctx.metadata)}/${randomUUID()}-m0.avro`;
  await ctx.io.write(location, bytes, { ifNoneMatch: true });
  const count = (status: number): [number, number] => {
    const matching = entries.filter((e) => e.status === status);
    return [matching.length, matching.reduce((n, e) => n + e.dataFile.recordCount, 0)];
  };
  const [addedFiles, addedRows] = count(1);
  const [existingFiles, existingRows] = count(0);
  const [deletedFiles, deletedRows] = count(2);
  return {
    manifestPath: location,
    manifestLength: bytes.length,
    partitionSpecId: specId,
    content: 0,
    sequenceNumber: meta.sequenceNumber,
    minSequenceNumber: meta.minSequenceNumber,
    addedSnapshotId: meta.addedSnapshotId,
    addedFilesCount: addedFiles,
    existingFilesCount: existingFiles,
    deletedFilesCount: deletedFiles,
    addedRowsCount: addedRows,
    existingRowsCount: existingRows,
    deletedRowsCount: deletedRows,
    partitions: partitionSummaries(resolved, entries.filter((e) => e.status !== 2).map((e) => e.partitionTuple)),
    keyMetadata: null,
  };
}

/** Manifests of the base snapshot that still track live files (ones holding only DELETED entries are dropped). */
async function baseManifests(io: ObjectIO, metadata: TableMetadata): Promise<ManifestFile[]> {
  const snap = currentSnapshot(metadata);
  if (!snap) return [];
  return (await readManifestList(io, snap)).filter((m) => m.content !== 0 || m.addedFilesCount + m.existingFilesCount > 0);
}

interface Totals {
  records: number;
  files: number;
  size: number;
}

export async function baseTotals(io: ObjectIO, metadata: TableMetadata): Promise<Totals> {
  const snap = currentSnapshot(metadata);
  if (!snap) return { records: 0, files: 0, size: 0 };
  const s = snap.summary;
  const [r, f, z] = [s['total-records'], s['total-data-files'], s['total-files-size']].map((v) => (v === undefined ? NaN : Number(v)));
  if (Number.isSafeInteger(r) && Number.isSafeInteger(f) && Number.isSafeInteger(z)) return { records: r!, files: f!, size: z! };
  // A parent written without totals: count them once from its manifests.
  const files = await planFiles({ io, metadata });
  return { records: files.reduce((n, d) => n + d.recordCount, 0), files: files.length, size: files.reduce((n, d) => n + d.fileSizeInBytes, 0) };
}

function partitionKey(specId: number, tuple: Array<PrimitiveValue | null>): string {
  return `${specId}:${tuple.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v))).join(',')}`;
}

export function buildSummary(opts: {
  base: Totals;
  added: Array<{ recordCount: number; fileSizeInBytes: number }>;
  removed: Array<{ recordCount: number; fileSizeInBytes: number }>;
  changedPartitions: number;
  manifestsCreated: number;
  manifestsKept: number;
  manifestsReplaced: number;
  commitId?: string;
}): Record<string, string> {
  const sum = (xs: Array<{ recordCount: number; fileSizeInBytes: number }>, k: 'recordCount' | 'fileSizeInBytes'): number => xs.reduce((n, x) => n + x[k], 0);
  const addedRecords = sum(opts.added, 'recordCount');
  const addedSize = sum(opts.added, 'fileSizeInBytes');
  const removedRecords = sum(opts.removed, 'recordCount');
  const removedSize = sum(opts.removed, 'fileSizeInBytes');
  const summary: Record<string, string> = {};
  if (opts.added.length > 0) {
    summary['added-data-files'] = String(opts.added.length);
    summary['added-records'] = String(addedRecords);
    summary['added-files-size'] = String(addedSize);
  }
  if (opts.removed.length > 0) {
    summary['deleted-data-files'] = String(opts.removed.length);
    summary['deleted-records'] = String(removedRecords);
    summary['removed-files-size'] = String(removedSize);
  }
  summary['changed-partition-count'] = String(opts.changedPartitions);
  summary['total-records'] = String(opts.base.records + addedRecords - removedRecords);
  summary['total-data-files'] = String(opts.base.files + opts.added.length - opts.removed.length);
  summary['total-files-size'] = String(opts.base.size + addedSize - removedSize);
  summary['total-delete-files'] = '0';
  summary['total-position-deletes'] = '0';
  summary['total-equality-deletes'] = '0';
  summary['manifests-created'] = String(opts.manifestsCreated);
  summary['manifests-kept'] = String(opts.manifestsKept);
  summary['manifests-replaced'] = String(opts.manifestsReplaced);
  summary['engine-name'] = 'atoll';
  if (opts.commitId !== undefined) summary[COMMIT_ID_SUMMARY_KEY] = opts.commitId;
  return summary;
}

export interface AppendFilesOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  files: DataFile[];
  /** Idempotency key, recorded in the snapshot summary; a retried call with the same key adds nothing. */
  commitId?: string;
  maxRetries?: number;
}

/** Adds data files in one `append` snapshot (fast append: one new manifest per spec, older manifests reused). */
export async function appendFiles(opts: AppendFilesOptions): Promise<CommitResult> {
  if (opts.files.length === 0) throw new InvalidInputError('appendFiles needs at least one data file');
  validateDataFiles(opts.files, 'files');
  let pending: Map<number, PendingFile[]> | undefined;
  let written: Map<number, ManifestFile> = new Map();
  const result = await commitSnapshot({
    io: opts.io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.commitId !== undefined ? { commitId: opts.commitId } : {}),
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    sharedFiles: () => [...written.values()].map((m) => m.manifestPath),
    onNewSnapshotId: () => {
      // Manifests embed the snapshot id in their entries; a new id means rewriting them.
      void deleteQuietly(opts.io, [...written.values()].map((m) => m.manifestPath));
      written = new Map();
    },
    prepare: async ({ base, snapshotId, sequenceNumber }) => {
      const metadata = base.metadata;
      pending ??= pendingFiles(metadata, opts.files, 'files');
      const schema = currentSchema(metadata);
      for (const [specId, group] of pending) {
        if (written.has(specId)) continue;
        const entries: ManifestEntry[] = group.map((p) => ({
          status: 1,
          snapshotId,
          sequenceNumber: null, // inherited from the manifest list at read time, so the manifest survives retries
          fileSequenceNumber: null,
          dataFile: p.file,
          partitionTuple: p.tuple,
        }));
        written.set(specId, await writeManifest({ io: opts.io, metadata, schema }, specId, entries, { addedSnapshotId: snapshotId, sequenceNumber, minSequenceNumber: sequenceNumber }));
      }
      const added = [...written.values()].map((m) => ({ ...m, sequenceNumber, minSequenceNumber: sequenceNumber }));
      const kept = await baseManifests(opts.io, metadata);
      const changed = new Set([...pending.values()].flat().map((p) => partitionKey(p.specId, p.tuple)));
      return {
        operation: 'append',
        manifests: [...added, ...kept],
        attemptFiles: [],
        summary: buildSummary({
          base: await baseTotals(opts.io, metadata),
          added: opts.files,
          removed: [],
          changedPartitions: changed.size,
          manifestsCreated: added.length,
          manifestsKept: kept.length,
          manifestsReplaced: 0,
          ...(opts.commitId !== undefined ? { commitId: opts.commitId } : {}),
        }),
      };
    },
  });
  return result;
}

export interface OverwriteFilesOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  /** URIs of live data files to remove. */
  deleteFiles: string[];
  addFiles: DataFile[];
  commitId?: string;
  maxRetries?: number;
  /**
   * The added files hold exactly the rows of the deleted ones (compaction): the snapshot's operation is `replace`,
   * so incremental readers skip it. Record counts of both sides must match.
   */
  replace?: boolean;
}

/**
 * Copy-on-write overwrite: removes `deleteFiles` and adds `addFiles` in one snapshot (`overwrite`, or `delete` /
 * `append` when one side is empty). On retry the deletes are re-validated against the new base; if a file to delete
 * is no longer live (someone else removed it) the commit fails with CommitConflictError instead of resurrecting or
 * double-deleting rows.
 */
export async function overwriteFiles(opts: OverwriteFilesOptions): Promise<CommitResult> {
  if (opts.deleteFiles.length === 0 && opts.addFiles.length === 0) throw new InvalidInputError('overwriteFiles needs files to delete or to add');
  validateDataFiles(opts.addFiles, 'addFiles');
  const deleteSet = new Set(opts.deleteFiles);
  if (deleteSet.size !== opts.deleteFiles.length) throw new InvalidInputError('deleteFiles lists the same file twice');
  for (const f of opts.addFiles) {
    if (deleteSet.has(f.filePath)) throw new InvalidInputError(`${f.filePath} is both deleted and added`);
  }
  if (opts.replace && (opts.deleteFiles.length === 0 || opts.addFiles.length === 0)) throw new InvalidInputError('a replace needs files to delete and files to add');
  let pending: Map<number, PendingFile[]> | undefined;
  let written: Map<number, ManifestFile> = new Map();
  // Manifests are immutable, so decoded ones are reused across attempts.
  const manifestCache = new Map<string, ManifestEntry[]>();
  const name = formatIdentifier(opts.id);
  return commitSnapshot({
    io: opts.io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.commitId !== undefined ? { commitId: opts.commitId } : {}),
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    sharedFiles: () => [...written.values()].map((m) => m.manifestPath),
    onNewSnapshotId: () => {
      void deleteQuietly(opts.io, [...written.values()].map((m) => m.manifestPath));
      written = new Map();
    },
    prepare: async ({ base, snapshotId, sequenceNumber }) => {
      const metadata = base.metadata;
      const schema = currentSchema(metadata);
      const ctx = { io: opts.io, metadata, schema };
      const kept: ManifestFile[] = [];
      const rewritten: ManifestFile[] = [];
      const removed: Array<{ file: DataFile; specId: number; tuple: Array<PrimitiveValue | null> }> = [];
      const live = new Set<string>();
      let replaced = 0;
      for (const m of await baseManifests(opts.io, metadata)) {
        if (m.content !== 0) throw new UnsupportedTableError(`table ${name} has delete files (${m.manifestPath}); overwrite of tables with row-level deletes is not supported`);
        let entries = manifestCache.get(m.manifestPath);
        if (!entries) {
          entries = await readManifestEntries(opts.io, metadata, m);
          manifestCache.set(m.manifestPath, entries);
        }
        const liveEntries = entries.filter((e) => e.status !== 2);
        for (const e of liveEntries) live.add(e.dataFile.filePath);
        if (!liveEntries.some((e) => deleteSet.has(e.dataFile.filePath))) {
          kept.push(m);
          continue;
        }
        replaced++;
        const next: ManifestEntry[] = liveEntries.map((e) => {
          // Existing and deleted entries must carry explicit sequence numbers (spec: Sequence Number Inheritance).
          const seq = e.sequenceNumber ?? (e.status === 1 ? m.sequenceNumber : null);
          const fileSeq = e.fileSequenceNumber ?? (e.status === 1 ? m.sequenceNumber : null);
          if (seq === null || fileSeq === null) throw new CorruptMetadataError(m.manifestPath, `entry ${e.dataFile.filePath} has status ${e.status} but no sequence number`);
          const hit = deleteSet.has(e.dataFile.filePath);
          if (hit) removed.push({ file: e.dataFile, specId: m.partitionSpecId, tuple: e.partitionTuple });
          return {
            status: hit ? 2 : 0,
            snapshotId: hit ? snapshotId : (e.snapshotId ?? m.addedSnapshotId),
            sequenceNumber: seq,
            fileSequenceNumber: fileSeq,
            dataFile: e.dataFile,
            partitionTuple: e.partitionTuple,
          };
        });
        const existingSeqs = next.filter((e) => e.status === 0).map((e) => e.sequenceNumber!);
        rewritten.push(
          await writeManifest(ctx, m.partitionSpecId, next, {
            addedSnapshotId: snapshotId,
            sequenceNumber,
            minSequenceNumber: existingSeqs.length > 0 ? Math.min(...existingSeqs) : sequenceNumber,
          }),
        );
      }
      const missing = opts.deleteFiles.filter((p) => !live.has(p));
      if (missing.length > 0) {
        await deleteQuietly(opts.io, rewritten.map((m) => m.manifestPath));
        const current = metadata['current-snapshot-id'];
        throw new CommitConflictError(
          `cannot overwrite in table ${name}: ${missing.length} file(s) to delete are not live in snapshot ${current ?? 'none'} (removed concurrently, or never added): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
        );
      }
      for (const f of opts.addFiles) {
        if (live.has(f.filePath)) throw new InvalidInputError(`${f.filePath} is already live in table ${name}`);
      }
      if (opts.replace) {
        const removedRows = removed.reduce((n, r) => n + r.file.recordCount, 0);
        const addedRows = opts.addFiles.reduce((n, f) => n + f.recordCount, 0);
        if (removedRows !== addedRows) {
          await deleteQuietly(opts.io, rewritten.map((m) => m.manifestPath));
          throw new InvalidInputError(`replace in table ${name} would change the row count (${removedRows} removed, ${addedRows} added)`);
        }
      }
      pending ??= pendingFiles(metadata, opts.addFiles, 'addFiles');
      for (const [specId, group] of pending) {
        if (written.has(specId)) continue;
        const entries: ManifestEntry[] = group.map((p) => ({ status: 1, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile: p.file, partitionTuple: p.tuple }));
        written.set(specId, await writeManifest(ctx, specId, entries, { addedSnapshotId: snapshotId, sequenceNumber, minSequenceNumber: sequenceNumber }));
      }
      const added = [...written.values()].map((m) => ({ ...m, sequenceNumber, minSequenceNumber: sequenceNumber }));
      const changed = new Set([
        ...[...pending.values()].flat().map((p) => partitionKey(p.specId, p.tuple)),
        ...removed.map((r) => partitionKey(r.specId, r.tuple)),
      ]);
      const operation: SnapshotOperation = opts.replace ? 'replace' : opts.addFiles.length === 0 ? 'delete' : opts.deleteFiles.length === 0 ? 'append' : 'overwrite';
      return {
        operation,
        manifests: [...added, ...rewritten, ...kept],
        attemptFiles: rewritten.map((m) => m.manifestPath),
        summary: buildSummary({
          base: await baseTotals(opts.io, metadata),
          added: opts.addFiles,
          removed: removed.map((r) => r.file),
          changedPartitions: changed.size,
          manifestsCreated: added.length + rewritten.length,
          manifestsKept: kept.length,
          manifestsReplaced: replaced,
          ...(opts.commitId !== undefined ? { commitId: opts.commitId } : {}),
        }),
      };
    },
  });
}

/** Schema a snapshot was written with (falls back to the current schema for snapshots without schema-id). */
export function snapshotSchema(metadata: TableMetadata, snapshot: Snapshot): IcebergSchema {
  return (snapshot['schema-id'] !== undefined ? schemaById(metadata, snapshot['schema-id']) : undefined) ?? currentSchema(metadata);
}
