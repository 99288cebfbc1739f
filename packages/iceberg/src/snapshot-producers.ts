// Snapshot producers: append, copy-on-write overwrite and the shared step that turns prepared manifests into a
// snapshot. Each expresses its change as add-snapshot + set-snapshot-ref main and commits through commitWithRetry.
import { randomUUID } from 'node:crypto';
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier } from './catalog-store.js';
import type { CommitAttempt } from './commit.js';
import { commitWithRetry } from './commit.js';
import type { PrimitiveValue } from './conversions.js';
import { CommitConflictError, CorruptMetadataError, InvalidInputError, UnsupportedTableError } from './errors.js';
import type { ObjectIO } from './io.js';
import { deleteQuietly } from './io.js';
import type { DataFile, ManifestEntry, ManifestFile } from './manifest.js';
import { encodeManifest, encodeManifestList, partitionSummaries } from './manifest.js';
import type { Snapshot, SnapshotOperation, TableMetadata } from './metadata.js';
import { ancestors, currentSchema, currentSnapshot, newSnapshotId, snapshotById } from './metadata.js';
import { normalizePartition } from './partition.js';
import { ownManifestEntries, readManifestEntries, readManifestList, rememberManifestList, rememberOwnManifest, rememberedManifestList, resolvedSpec } from './scan.js';
import { COMMIT_ID_SUMMARY_KEY, baseTotals, buildSummary, partitionKey } from './summaries.js';
import type { LoadedTable } from './table-lifecycle.js';
import { metadataDir } from './table-lifecycle.js';
import type { IcebergSchema } from './types.js';
import type { TableUpdate } from './updates.js';
import { applyUpdates } from './updates.js';
import { mapLimited } from './concurrency.js';
import type { VersionHintMode } from './version-hints.js';

const MANIFEST_READ_CONCURRENCY = 16;

export interface CommitResult {
  /** The snapshot this call committed, or the earlier one that already carried the commit id. */
  snapshotId: bigint;
  metadataLocation: string;
  /** True when a snapshot with the same commit id was already in the table's history; nothing was written. */
  alreadyCommitted: boolean;
}

export interface PreparedSnapshot {
  operation: SnapshotOperation;
  manifests: ManifestFile[];
  summary: Record<string, string>;
  /** Files written only for this attempt (rewritten manifests); deleted if the attempt loses the race. */
  attemptFiles: string[];
  /** Files still to write, beside the manifest list and the metadata file (see CommitAttempt.writes). */
  writes?: NonNullable<CommitAttempt<unknown>['writes']>;
}

export interface PrepareContext {
  base: LoadedTable;
  snapshotId: bigint;
  sequenceNumber: number;
  attempt: number;
}

function findCommit(metadata: TableMetadata, commitId: string): Snapshot | undefined {
  return ancestors(metadata).find((s) => s.summary[COMMIT_ID_SUMMARY_KEY] === commitId);
}

/**
 * The step every snapshot-producing operation shares. The snapshot id stays the same across attempts (so manifests
 * of new files are written once and reused); the sequence number, manifest list and metadata file are redone
 * against each fresh base by commitWithRetry.
 */
export async function commitSnapshot(opts: {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  commitId?: string;
  maxRetries?: number;
  versionHint?: VersionHintMode;
  prepare: (ctx: PrepareContext) => Promise<PreparedSnapshot>;
  /** Files reused across attempts, deleted if the operation finally fails. */
  sharedFiles: () => string[];
  onNewSnapshotId: () => void;
}): Promise<CommitResult> {
  const { io } = opts;
  let snapshotId = newSnapshotId();
  const outcome = await commitWithRetry<{ snapshotId: bigint; alreadyCommitted: boolean }>({
    io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    ...(opts.versionHint !== undefined ? { versionHint: opts.versionHint } : {}),
    sharedFiles: opts.sharedFiles,
    attempt: async ({ base, attempt, unknownOutcome }) => {
      if (opts.commitId !== undefined) {
        const done = findCommit(base.metadata, opts.commitId);
        // Our own earlier attempt whose swap outcome was unknown is a fresh commit, not a duplicate.
        if (done) return { next: null, value: { snapshotId: done['snapshot-id'], alreadyCommitted: !(unknownOutcome && done['snapshot-id'] === snapshotId) } };
      }
      if (snapshotById(base.metadata, snapshotId)) {
        // An earlier swap whose outcome we could not observe did land (found even if the metadata-log was trimmed).
        if (unknownOutcome) return { next: null, value: { snapshotId, alreadyCommitted: false } };
        snapshotId = newSnapshotId(); // random clash with an existing snapshot: pick another id
        opts.onNewSnapshotId();
      }
      const sequenceNumber = base.metadata['last-sequence-number'] + 1;
      const prepared = await opts.prepare({ base, snapshotId, sequenceNumber, attempt });
      const parent = currentSnapshot(base.metadata);
      const manifestListLocation = `${metadataDir(base.metadata)}/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
      const listBytes = encodeManifestList({ manifests: prepared.manifests, snapshotId, parentSnapshotId: parent ? parent['snapshot-id'] : null, sequenceNumber });
      rememberManifestList(manifestListLocation, prepared.manifests);
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
      const next = applyUpdates(base.metadata, [
        { action: 'add-snapshot', snapshot },
        { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': snapshotId },
      ]);
      return {
        next: { ...next, 'last-updated-ms': nowMs },
        value: { snapshotId, alreadyCommitted: false },
        attemptFiles: prepared.attemptFiles,
        writes: [...(prepared.writes ?? []), { location: manifestListLocation, bytes: listBytes }],
      };
    },
  });
  return { snapshotId: outcome.value.snapshotId, metadataLocation: outcome.table.metadataLocation, alreadyCommitted: outcome.value.alreadyCommitted };
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

interface ManifestMeta {
  addedSnapshotId: bigint;
  sequenceNumber: number;
  minSequenceNumber: number;
}

export async function writeManifest(ctx: ManifestWriteContext, specId: number, entries: ManifestEntry[], meta: ManifestMeta): Promise<ManifestFile> {
  const { file, bytes } = encodeManifestFile(ctx, specId, entries, meta);
  await ctx.io.write(file.manifestPath, bytes, { ifNoneMatch: true });
  return file;
}

/** A new manifest's bytes and its manifest-list entry, for the caller to write (its location is fresh and unique). */
function encodeManifestFile(ctx: Omit<ManifestWriteContext, 'io'>, specId: number, entries: ManifestEntry[], meta: ManifestMeta): { file: ManifestFile; bytes: Uint8Array } {
  const { spec, resolved } = resolvedSpec(ctx.metadata, specId, ctx.metadata.location);
  const bytes = encodeManifest({ schema: ctx.schema, spec, resolved, entries });
  const location = `${metadataDir(ctx.metadata)}/${randomUUID()}-m0.avro`;
  const count = (status: number): [number, number] => {
    const matching = entries.filter((e) => e.status === status);
    return [matching.length, matching.reduce((n, e) => n + e.dataFile.recordCount, 0)];
  };
  const [addedFiles, addedRows] = count(1);
  const [existingFiles, existingRows] = count(0);
  const [deletedFiles, deletedRows] = count(2);
  const file: ManifestFile = {
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
  return { file, bytes };
}

/** The decoded manifest list of `snapshot`: the one this process wrote or read last if it still has it, else read. */
async function manifestListOf(io: ObjectIO, snapshot: Snapshot): Promise<readonly ManifestFile[]> {
  const location = snapshot['manifest-list'];
  const hit = rememberedManifestList(location);
  if (hit) return hit;
  const read = await readManifestList(io, snapshot);
  rememberManifestList(location, read);
  return read;
}

/** Manifests of the base snapshot that still track live files (ones holding only DELETED entries are dropped). */
async function baseManifests(io: ObjectIO, metadata: TableMetadata): Promise<ManifestFile[]> {
  const snap = currentSnapshot(metadata);
  if (!snap) return [];
  return (await manifestListOf(io, snap)).filter((m) => m.content !== 0 || m.addedFilesCount + m.existingFilesCount > 0);
}


export interface AppendFilesOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  files: DataFile[];
  /** Idempotency key, recorded in the snapshot summary; a retried call with the same key adds nothing. */
  commitId?: string;
  maxRetries?: number;
  /**
   * When version-hint.text is written (VersionHintMode; default `await`). A group commit waits for the hint when any
   * of its appends asked to.
   */
  versionHint?: VersionHintMode;
}

/**
 * Adds data files in one `append` snapshot (fast append: one new manifest per spec, older manifests reused).
 *
 * Group commit: concurrent calls for the same table in this process (same `io`, `catalog` and `maxRetries`) queue up,
 * and one of them commits the waiting appends together — each still its own snapshot with its own commit id, chained
 * parent to child in one new metadata version and one compare-and-swap. Writers then stop losing races to each other
 * and redoing manifest lists; a group is all or nothing, and each call still reports its own snapshot.
 */
export async function appendFiles(opts: AppendFilesOptions): Promise<CommitResult> {
  if (opts.files.length === 0) throw new InvalidInputError('appendFiles needs at least one data file');
  validateDataFiles(opts.files, 'files');
  return new Promise<CommitResult>((resolve, reject) => {
    const request: AppendRequest = { files: opts.files, snapshotId: newSnapshotId(), manifests: new Map(), versionHint: opts.versionHint ?? 'await', resolve, reject };
    if (opts.commitId !== undefined) request.commitId = opts.commitId;
    queueAppend(opts, request);
  });
}

/** One appendFiles call waiting for (or inside) a group commit. */
interface AppendRequest {
  files: DataFile[];
  commitId?: string;
  /** Kept across attempts so the manifest, which embeds it, is written once. */
  snapshotId: bigint;
  pending?: Map<number, PendingFile[]>;
  /** The request's manifest per spec, handed to the engine to write once (by an attempt that returned) and reused by every later attempt. */
  manifests: Map<number, ManifestFile>;
  /** Why the request can never commit (its files do not fit the table); the rest of its group goes on. */
  invalid?: Error;
  versionHint: VersionHintMode;
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

interface AppendQueue {
  waiting: AppendRequest[];
  draining: boolean;
}

type AppendOutcome = { snapshotId: bigint; alreadyCommitted: boolean } | { error: Error };

// At most this many appends share one metadata version (bounds the metadata file and one attempt's writes).
const MAX_GROUP_APPENDS = 64;
const appendQueues = new WeakMap<ObjectIO, WeakMap<CatalogStore, Map<string, AppendQueue>>>();

function queueAppend(opts: AppendFilesOptions, request: AppendRequest): void {
  let byCatalog = appendQueues.get(opts.io);
  if (!byCatalog) appendQueues.set(opts.io, (byCatalog = new WeakMap<CatalogStore, Map<string, AppendQueue>>()));
  let queues = byCatalog.get(opts.catalog);
  if (!queues) byCatalog.set(opts.catalog, (queues = new Map<string, AppendQueue>()));
  const key = `${formatIdentifier(opts.id)}\u0000${opts.maxRetries ?? ''}`;
  let queue = queues.get(key);
  if (!queue) queues.set(key, (queue = { waiting: [], draining: false }));
  queue.waiting.push(request);
  if (queue.draining) return;
  queue.draining = true;
  const q = queue;
  const map = queues;
  // Let the callers of this tick join the first group.
  setImmediate(() => {
    void (async () => {
      try {
        while (q.waiting.length > 0) await commitAppendGroup(opts, takeGroup(q.waiting));
      } finally {
        q.draining = false;
        if (q.waiting.length === 0) map.delete(key);
      }
    })();
  });
}

/** The next group: oldest first, at most MAX_GROUP_APPENDS, one request per commit id (a repeat waits its turn and then finds the first committed). */
function takeGroup(waiting: AppendRequest[]): AppendRequest[] {
  const group: AppendRequest[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < waiting.length && group.length < MAX_GROUP_APPENDS; ) {
    const r = waiting[i]!;
    if (r.commitId !== undefined && ids.has(r.commitId)) {
      i++;
      continue;
    }
    if (r.commitId !== undefined) ids.add(r.commitId);
    group.push(r);
    waiting.splice(i, 1);
  }
  return group;
}

/** Snapshots of main's history by commit id (newest wins), in one pass over a map of the snapshots. */
function commitIdsOfHistory(metadata: TableMetadata): Map<string, Snapshot> {
  const byId = new Map(metadata.snapshots.map((s) => [s['snapshot-id'], s]));
  const out = new Map<string, Snapshot>();
  const seen = new Set<bigint>();
  let id: bigint | undefined = metadata['current-snapshot-id'] ?? undefined;
  while (id !== undefined && !seen.has(id)) {
    seen.add(id);
    const snap = byId.get(id);
    if (!snap) break;
    const commitId = snap.summary[COMMIT_ID_SUMMARY_KEY];
    if (commitId !== undefined && !out.has(commitId)) out.set(commitId, snap);
    id = snap['parent-snapshot-id'];
  }
  return out;
}

// Manifest merging on append, as the reference implementation does by default (commit.manifest-merge.enabled,
// commit.manifest.min-count-to-merge = 100, commit.manifest.target-size-bytes = 8 MB): without it every small append
// adds a manifest for good, and each later commit, scan, compaction and expiry reads them all.
const MERGE_ENABLED_PROPERTY = 'commit.manifest-merge.enabled';
const MERGE_MIN_COUNT_PROPERTY = 'commit.manifest.min-count-to-merge';
const MERGE_TARGET_SIZE_PROPERTY = 'commit.manifest.target-size-bytes';
const DEFAULT_MERGE_MIN_COUNT = 100;
const DEFAULT_MERGE_TARGET_SIZE = 8 * 1024 * 1024;

function mergePolicy(metadata: TableMetadata): { minCount: number; targetSize: number } | null {
  const p = metadata.properties;
  if ((p[MERGE_ENABLED_PROPERTY] ?? 'true').toLowerCase() === 'false') return null;
  const minCount = Number(p[MERGE_MIN_COUNT_PROPERTY] ?? DEFAULT_MERGE_MIN_COUNT);
  const targetSize = Number(p[MERGE_TARGET_SIZE_PROPERTY] ?? DEFAULT_MERGE_TARGET_SIZE);
  return {
    minCount: Number.isInteger(minCount) && minCount >= 2 ? minCount : DEFAULT_MERGE_MIN_COUNT,
    targetSize: Number.isSafeInteger(targetSize) && targetSize > 0 ? targetSize : DEFAULT_MERGE_TARGET_SIZE,
  };
}

/**
 * When a spec has at least `minCount` data manifests, its small ones (below the target size) become one manifest of
 * EXISTING entries (explicit sequence numbers, original snapshot ids; entries deleted by older snapshots dropped)
 * written by `snapshotId`. Returns the manifests to carry forward and the merged manifests to write, or null.
 * `unwritten` holds the entries of manifests the caller has encoded but not yet written (those of earlier snapshots
 * of the same group commit, which is written in one go after the whole chain is built): they are taken from there,
 * since reading them from the store would fail.
 */
async function mergeSmallManifests(opts: {
  io: ObjectIO;
  metadata: TableMetadata;
  schema: IcebergSchema;
  manifests: readonly ManifestFile[];
  snapshotId: bigint;
  sequenceNumber: number;
  unwritten: ReadonlyMap<string, readonly ManifestEntry[]>;
}): Promise<{ manifests: ManifestFile[]; written: Array<{ file: ManifestFile; bytes: Uint8Array; entries: ManifestEntry[] }>; replaced: number } | null> {
  const policy = mergePolicy(opts.metadata);
  if (!policy) return null;
  const bySpec = new Map<number, ManifestFile[]>();
  for (const m of opts.manifests) {
    if (m.content !== 0 || m.manifestLength >= policy.targetSize) continue;
    bySpec.set(m.partitionSpecId, [...(bySpec.get(m.partitionSpecId) ?? []), m]);
  }
  const toMerge = [...bySpec.values()].filter((ms) => ms.length >= policy.minCount);
  if (toMerge.length === 0) return null;
  const merged = new Set<string>();
  const written: Array<{ file: ManifestFile; bytes: Uint8Array; entries: ManifestEntry[] }> = [];
  for (const group of toMerge) {
    const entriesOf = await mapLimited(group, MANIFEST_READ_CONCURRENCY, async (m) => opts.unwritten.get(m.manifestPath) ?? (await ownManifestEntries(opts.io, opts.metadata, m)));
    const entries: ManifestEntry[] = [];
    for (const [i, m] of group.entries()) {
      merged.add(m.manifestPath);
      for (const e of entriesOf[i]!) {
        if (e.status === 2) continue;
        const seq = e.sequenceNumber ?? m.sequenceNumber;
        const fileSeq = e.fileSequenceNumber ?? m.sequenceNumber;
        entries.push({ status: 0, snapshotId: e.snapshotId ?? m.addedSnapshotId, sequenceNumber: seq, fileSequenceNumber: fileSeq, dataFile: e.dataFile, partitionTuple: e.partitionTuple });
      }
    }
    const specId = group[0]!.partitionSpecId;
    const minSequenceNumber = entries.reduce((min, e) => Math.min(min, e.sequenceNumber!), opts.sequenceNumber);
    written.push({ ...encodeManifestFile({ metadata: opts.metadata, schema: opts.schema }, specId, entries, { addedSnapshotId: opts.snapshotId, sequenceNumber: opts.sequenceNumber, minSequenceNumber }), entries });
  }
  const manifests = [...opts.manifests.filter((m) => !merged.has(m.manifestPath)), ...written.map((w) => w.file)];
  return { manifests, written, replaced: merged.size };
}

/** Commits a group of appends as a chain of snapshots in one swap; settles every request's promise, never throws. */
async function commitAppendGroup(opts: AppendFilesOptions, group: AppendRequest[]): Promise<void> {
  const { io } = opts;
  // The bytes of every manifest this group encodes (in any attempt): those a landed commit names are remembered for
  // later merges (`rememberOwnManifest`).
  const encodedBytes = new Map<string, Uint8Array>();
  try {
    const outcome = await commitWithRetry<Map<AppendRequest, AppendOutcome>>({
      io,
      catalog: opts.catalog,
      id: opts.id,
      ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      versionHint: group.every((r) => r.versionHint === 'background') ? 'background' : 'await',
      sharedFiles: () => group.flatMap((r) => [...r.manifests.values()].map((m) => m.manifestPath)),
      attempt: async ({ base, attempt, unknownOutcome }) => {
        const metadata = base.metadata;
        const value = new Map<AppendRequest, AppendOutcome>();
        const history = commitIdsOfHistory(metadata);
        const snapshotIds = new Set(metadata.snapshots.map((s) => s['snapshot-id']));
        const todo: AppendRequest[] = [];
        for (const r of group) {
          if (r.invalid) {
            value.set(r, { error: r.invalid });
            continue;
          }
          const done = r.commitId === undefined ? undefined : history.get(r.commitId);
          if (done) {
            // Our own earlier attempt whose swap outcome was unknown is a fresh commit, not a duplicate.
            value.set(r, { snapshotId: done['snapshot-id'], alreadyCommitted: !(unknownOutcome && done['snapshot-id'] === r.snapshotId) });
            continue;
          }
          if (snapshotIds.has(r.snapshotId)) {
            // An earlier swap whose outcome we could not observe did land (found even if the metadata-log was trimmed).
            if (unknownOutcome) {
              value.set(r, { snapshotId: r.snapshotId, alreadyCommitted: false });
              continue;
            }
            // A random clash with an existing snapshot: another id, and the manifests (which embed it) again.
            r.snapshotId = newSnapshotId();
            void deleteQuietly(io, [...r.manifests.values()].map((m) => m.manifestPath));
            r.manifests = new Map();
          }
          try {
            r.pending ??= pendingFiles(metadata, r.files, 'files');
          } catch (err) {
            r.invalid = err instanceof Error ? err : new Error(String(err));
            value.set(r, { error: r.invalid });
            continue;
          }
          todo.push(r);
        }
        if (todo.length === 0) return { next: null, value };

        const schema = currentSchema(metadata);
        const writes: NonNullable<CommitAttempt<unknown>['writes']> = [];
        const kept = await baseManifests(io, metadata);
        let totals = await baseTotals(io, metadata);
        let parent = currentSnapshot(metadata)?.['snapshot-id'];
        let sequenceNumber = metadata['last-sequence-number'];
        let nowMs = metadata['last-updated-ms'];
        let previous: ManifestFile[] = kept;
        const updates: TableUpdate[] = [];
        // What this attempt encodes is written only after the whole chain is built; a merge further down the chain
        // takes those manifests' entries from here.
        const unwritten = new Map<string, readonly ManifestEntry[]>();
        // A request's new manifests become its own only once this attempt returns them to be written: an attempt that
        // throws half-way writes nothing, and a later one (the engine may try again) must encode and write them itself.
        const encoded = new Map<AppendRequest, Map<number, ManifestFile>>();
        for (const r of todo) {
          sequenceNumber += 1;
          // Snapshot time doubles as last-updated-ms and the snapshot-log time; strictly increasing per table.
          nowMs = Math.max(Date.now(), nowMs + 1);
          const own = new Map(r.manifests);
          for (const [specId, files] of r.pending!) {
            if (own.has(specId)) continue;
            const entries: ManifestEntry[] = files.map((p) => ({
              status: 1,
              snapshotId: r.snapshotId,
              sequenceNumber: null, // inherited from the manifest list at read time, so the manifest survives retries
              fileSequenceNumber: null,
              dataFile: p.file,
              partitionTuple: p.tuple,
            }));
            const { file, bytes } = encodeManifestFile({ metadata, schema }, specId, entries, { addedSnapshotId: r.snapshotId, sequenceNumber, minSequenceNumber: sequenceNumber });
            own.set(specId, file);
            encoded.set(r, own);
            unwritten.set(file.manifestPath, entries);
            encodedBytes.set(file.manifestPath, bytes);
            writes.push({ location: file.manifestPath, bytes, shared: true });
          }
          const added = [...own.values()].map((m) => ({ ...m, sequenceNumber, minSequenceNumber: sequenceNumber }));
          const merge = await mergeSmallManifests({ io, metadata, schema, manifests: previous, snapshotId: r.snapshotId, sequenceNumber, unwritten });
          const carried = merge?.manifests ?? previous;
          for (const w of merge?.written ?? []) {
            unwritten.set(w.file.manifestPath, w.entries);
            encodedBytes.set(w.file.manifestPath, w.bytes);
            writes.push({ location: w.file.manifestPath, bytes: w.bytes });
          }
          const manifests = [...added, ...carried];
          const listLocation = `${metadataDir(metadata)}/snap-${r.snapshotId}-${attempt}-${randomUUID()}.avro`;
          writes.push({ location: listLocation, bytes: encodeManifestList({ manifests, snapshotId: r.snapshotId, parentSnapshotId: parent ?? null, sequenceNumber }) });
          rememberManifestList(listLocation, manifests);
          const changed = new Set([...r.pending!.values()].flat().map((p) => partitionKey(p.specId, p.tuple)));
          const summary = buildSummary({
            base: totals,
            added: r.files,
            removed: [],
            changedPartitions: changed.size,
            manifestsCreated: added.length + (merge?.written.length ?? 0),
            manifestsKept: previous.length - (merge?.replaced ?? 0),
            manifestsReplaced: merge?.replaced ?? 0,
            ...(r.commitId !== undefined ? { commitId: r.commitId } : {}),
          });
          totals = { records: Number(summary['total-records']), files: Number(summary['total-data-files']), size: Number(summary['total-files-size']) };
          const snapshot: Snapshot = {
            'snapshot-id': r.snapshotId,
            ...(parent !== undefined ? { 'parent-snapshot-id': parent } : {}),
            'sequence-number': sequenceNumber,
            'timestamp-ms': nowMs,
            'manifest-list': listLocation,
            summary: { operation: 'append', ...summary },
            'schema-id': metadata['current-schema-id'],
          };
          // Each snapshot of the chain becomes main in turn, so the snapshot-log lists every one as a serial writer's would.
          updates.push({ action: 'add-snapshot', snapshot }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': r.snapshotId });
          value.set(r, { snapshotId: r.snapshotId, alreadyCommitted: false });
          parent = r.snapshotId;
          previous = manifests;
        }
        const next = { ...applyUpdates(metadata, updates), 'last-updated-ms': nowMs };
        for (const [r, own] of encoded) r.manifests = own;
        return { next, value, writes };
      },
    });
    if (outcome.committed) rememberLandedManifests(outcome.table.metadata, outcome.value, encodedBytes);
    for (const r of group) {
      const v = outcome.value.get(r);
      if (v === undefined) r.reject(new Error('append was not part of its group commit'));
      else if ('error' in v) r.reject(v.error);
      else r.resolve({ snapshotId: v.snapshotId, metadataLocation: outcome.table.metadataLocation, alreadyCommitted: v.alreadyCommitted });
    }
  } catch (err) {
    for (const r of group) r.reject(err);
  }
}

/**
 * Keeps the bytes of the manifests this group wrote that its landed snapshots name (their lists were remembered when
 * encoded): a manifest of a lost attempt, deleted or never written, is never among them.
 */
function rememberLandedManifests(metadata: TableMetadata, outcomes: ReadonlyMap<AppendRequest, AppendOutcome>, encodedBytes: ReadonlyMap<string, Uint8Array>): void {
  if (encodedBytes.size === 0) return;
  for (const v of outcomes.values()) {
    if ('error' in v || v.alreadyCommitted) continue;
    const snapshot = snapshotById(metadata, v.snapshotId);
    const named = snapshot ? rememberedManifestList(snapshot['manifest-list']) : undefined;
    for (const m of named ?? []) {
      const bytes = encodedBytes.get(m.manifestPath);
      if (bytes) rememberOwnManifest(m.manifestPath, bytes);
    }
  }
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
  /** When version-hint.text is written (VersionHintMode; default `await`). */
  versionHint?: VersionHintMode;
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
    ...(opts.versionHint !== undefined ? { versionHint: opts.versionHint } : {}),
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
      const manifests = await baseManifests(opts.io, metadata);
      for (const m of manifests) {
        if (m.content !== 0) throw new UnsupportedTableError(`table ${name} has delete files (${m.manifestPath}); overwrite of tables with row-level deletes is not supported`);
      }
      // Manifests are small and many after many small appends: read them side by side.
      const entriesOf = await mapLimited(manifests, MANIFEST_READ_CONCURRENCY, async (m) => {
        let entries = manifestCache.get(m.manifestPath);
        if (!entries) {
          entries = await readManifestEntries(opts.io, metadata, m);
          manifestCache.set(m.manifestPath, entries);
        }
        return entries;
      });
      // The entries of every manifest that loses a file go into one new manifest per spec (as a manifest merge
      // would), not one rewrite per manifest: compacting a thousand one-file appends writes one manifest, not a thousand.
      const merged = new Map<number, ManifestEntry[]>();
      for (const [i, m] of manifests.entries()) {
        const liveEntries = entriesOf[i]!.filter((e) => e.status !== 2);
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
        merged.set(m.partitionSpecId, [...(merged.get(m.partitionSpecId) ?? []), ...next]);
      }
      for (const [specId, next] of merged) {
        const existingSeqs = next.filter((e) => e.status === 0).map((e) => e.sequenceNumber!);
        rewritten.push(
          await writeManifest(ctx, specId, next, {
            addedSnapshotId: snapshotId,
            sequenceNumber,
            minSequenceNumber: existingSeqs.length > 0 ? existingSeqs.reduce((a, b) => Math.min(a, b)) : sequenceNumber,
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

