// Table maintenance as library calls (scheduled as jobs elsewhere): expire snapshots, rewrite manifests, remove
// orphan files. Each commits through the same compare-and-swap as appends and deletes files only after its commit.
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier } from './catalog-store.js';
import { commitWithRetry } from './commit.js';
import { forgetManifest, forgetManifestList, readManifestEntries, readManifestList, rememberedManifestList } from './scan.js';
import type { CommitResult } from './snapshot-producers.js';
import { commitSnapshot, writeManifest } from './snapshot-producers.js';
import { baseTotals, buildSummary } from './summaries.js';
import type { LoadedTable } from './table-lifecycle.js';
import { loadTable, readTableMetadata, versionHintLocation } from './table-lifecycle.js';
import { applyUpdates } from './updates.js';
import { InvalidInputError, UnsupportedTableError, isObjectNotFound } from './errors.js';
import type { ObjectIO } from './io.js';
import type { ManifestEntry, ManifestFile } from './manifest.js';
import type { Snapshot, TableMetadata } from './metadata.js';
import { ancestors, currentSchema, currentSnapshot } from './metadata.js';
import { mapLimited } from './concurrency.js';

const READ_CONCURRENCY = 16;
const DELETE_CONCURRENCY = 16;
const DELETE_BATCH_CONCURRENCY = 4;
const DEFAULT_TARGET_MANIFEST_ENTRIES = 10_000;

/** Files one set of snapshots reaches: manifest lists, manifests, and data files (live or, with `allEntries`, any). */
interface Reach {
  manifestLists: Set<string>;
  manifests: Set<string>;
  dataFiles: Set<string>;
}

function emptyReach(): Reach {
  return { manifestLists: new Set(), manifests: new Set(), dataFiles: new Set() };
}

/**
 * Adds what `snapshots` reference to `reach`. `missingOk` tolerates files that are already gone (an expired
 * snapshot's manifest list deleted by an earlier, interrupted run); for retained snapshots a missing file is an error.
 * `missingOk` also takes a manifest list this process still holds decoded (it wrote or read it) instead of reading it
 * again: for a snapshot being expired the list only adds deletion candidates, while a retained snapshot's list is
 * always read, so a missing one still fails the call.
 */
async function collectReach(opts: {
  io: ObjectIO;
  metadata: TableMetadata;
  snapshots: readonly Snapshot[];
  reach: Reach;
  allEntries: boolean;
  missingOk: boolean;
  seenManifests?: Set<string>;
}): Promise<void> {
  const seen = opts.seenManifests ?? new Set<string>();
  const lists = await mapLimited(opts.snapshots, READ_CONCURRENCY, async (snap) => {
    opts.reach.manifestLists.add(snap['manifest-list']);
    const remembered = opts.missingOk ? rememberedManifestList(snap['manifest-list']) : undefined;
    if (remembered) return remembered;
    try {
      return await readManifestList(opts.io, snap);
    } catch (err) {
      if (opts.missingOk && isObjectNotFound((err as { cause?: unknown }).cause)) return [];
      throw err;
    }
  });
  const manifests: ManifestFile[] = [];
  for (const m of lists.flat()) {
    opts.reach.manifests.add(m.manifestPath);
    if (seen.has(m.manifestPath)) continue;
    seen.add(m.manifestPath);
    manifests.push(m);
  }
  await mapLimited(manifests, READ_CONCURRENCY, async (m) => {
    let entries: ManifestEntry[];
    try {
      entries = await readManifestEntries(opts.io, opts.metadata, m);
    } catch (err) {
      if (opts.missingOk && isObjectNotFound((err as { cause?: unknown }).cause)) return;
      throw err;
    }
    for (const e of entries) {
      if (opts.allEntries || e.status !== 2) opts.reach.dataFiles.add(e.dataFile.filePath);
    }
  });
}

/** Deletes `uris`, in batches when the IO can; returns the ones deleted (best effort: failures are left as orphans). */
async function deleteAll(io: ObjectIO, uris: string[]): Promise<string[]> {
  if (io.deleteMany) {
    const batches: string[][] = [];
    for (let i = 0; i < uris.length; i += 1000) batches.push(uris.slice(i, i + 1000));
    // A few batch requests at once: each is one round trip that the object store spends on a thousand deletions.
    const ok = await mapLimited(batches, DELETE_BATCH_CONCURRENCY, (batch) =>
      io.deleteMany!(batch).then(
        () => true,
        // Left for orphan removal; the table does not reference these any more.
        () => false,
      ),
    );
    return batches.filter((_, i) => ok[i]).flat();
  }
  const ok = await mapLimited(uris, DELETE_CONCURRENCY, (u) => io.delete(u).then(() => true, () => false));
  return uris.filter((_, i) => ok[i]);
}

function allFiles(reach: Reach): Set<string> {
  return new Set([...reach.manifestLists, ...reach.manifests, ...reach.dataFiles]);
}

export interface ExpireSnapshotsOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  /** How many of the newest snapshots of the current history to keep (≥ 1, default 1). */
  retainLast?: number;
  /** Expire only snapshots older than now − olderThanMs (others beyond retainLast stay too). */
  olderThanMs?: number;
  /** Delete manifests, manifest lists and data files no longer reachable from any retained snapshot (default true). */
  deleteFiles?: boolean;
  maxRetries?: number;
}

/**
 * Removes old snapshots from the table metadata. Kept: the newest `retainLast` snapshots of the current history,
 * the head of every branch and tag, and (with `olderThanMs`) every snapshot younger than the cut-off. The new
 * metadata is committed first; only then are files deleted, and only those no snapshot of the table as it is after
 * the commit can reach, so a crash at any point leaves a readable table (at worst with orphans to remove later).
 */
export async function expireSnapshots(opts: ExpireSnapshotsOptions): Promise<{ expiredSnapshotIds: bigint[]; deletedFiles: string[] }> {
  const retainLast = opts.retainLast ?? 1;
  if (!Number.isInteger(retainLast) || retainLast < 1) throw new InvalidInputError('retainLast must be an integer ≥ 1');
  if (opts.olderThanMs !== undefined && (!Number.isFinite(opts.olderThanMs) || opts.olderThanMs < 0)) throw new InvalidInputError('olderThanMs must be a non-negative number');
  const cutoff = opts.olderThanMs === undefined ? Number.POSITIVE_INFINITY : Date.now() - opts.olderThanMs;
  const deleteFiles = opts.deleteFiles !== false;
  let candidates = emptyReach();
  let retained = emptyReach();
  let retainedIds = new Set<bigint>();
  const result = await commitWithRetry({
    io: opts.io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    attempt: async ({ base }) => {
      const md = base.metadata;
      const keep = new Set<bigint>(ancestors(md).slice(0, retainLast).map((s) => s['snapshot-id']));
      for (const ref of Object.values(md.refs)) keep.add(ref['snapshot-id']);
      if (md['current-snapshot-id'] !== null) keep.add(md['current-snapshot-id']);
      const expired = md.snapshots.filter((s) => !keep.has(s['snapshot-id']) && s['timestamp-ms'] < cutoff);
      if (expired.length === 0) return { next: null, value: [] as Snapshot[] };
      const gone = new Set(expired.map((s) => s['snapshot-id']));
      const kept = md.snapshots.filter((s) => !gone.has(s['snapshot-id']));
      if (deleteFiles) {
        // Read everything before committing: an unreadable retained manifest fails the call with nothing changed.
        // Expired snapshots reach every entry (a file deleted in an expired snapshot was live in its parent)…
        candidates = emptyReach();
        await collectReach({ io: opts.io, metadata: md, snapshots: expired, reach: candidates, allEntries: true, missingOk: true });
        // …and the retained ones only their live files.
        retained = emptyReach();
        await collectReach({ io: opts.io, metadata: md, snapshots: kept, reach: retained, allEntries: false, missingOk: false });
        retainedIds = new Set(kept.map((s) => s['snapshot-id']));
      }
      const next = applyUpdates(md, [{ action: 'remove-snapshots', 'snapshot-ids': [...gone] }]);
      return { next, value: expired };
    },
  });
  const expired = result.value;
  const expiredSnapshotIds = expired.map((s) => s['snapshot-id']);
  if (!result.committed || !deleteFiles || expired.length === 0) return { expiredSnapshotIds, deletedFiles: [] };

  // Commits that landed after ours were built on our metadata; what they reference is retained too.
  const now = await loadTable(opts);
  const newer = now.metadata.snapshots.filter((s) => !retainedIds.has(s['snapshot-id']));
  if (newer.length > 0) await collectReach({ io: opts.io, metadata: now.metadata, snapshots: newer, reach: retained, allEntries: false, missingOk: false });
  const keepFiles = allFiles(retained);
  const doomed = [...allFiles(candidates)].filter((f) => !keepFiles.has(f));
  for (const list of candidates.manifestLists) if (!keepFiles.has(list)) forgetManifestList(list);
  for (const f of doomed) forgetManifest(f);
  return { expiredSnapshotIds, deletedFiles: await deleteAll(opts.io, doomed) };
}

export interface RewriteManifestsOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  /** Entries per rewritten manifest (default 10,000). */
  targetManifestEntries?: number;
  maxRetries?: number;
}

function partitionSortKey(tuple: readonly unknown[]): string {
  return JSON.stringify(tuple, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/**
 * Merges the current snapshot's data manifests into as few as `targetManifestEntries` allows, entries clustered by
 * partition (so readers prune whole manifests), in a `replace` snapshot: same live files, same rows. When the table
 * already has at most one manifest per partition spec and no deleted entries, nothing is written and the current
 * snapshot is returned with `alreadyCommitted: true`. A table without snapshots is refused.
 */
export async function rewriteManifests(opts: RewriteManifestsOptions): Promise<CommitResult> {
  const target = opts.targetManifestEntries ?? DEFAULT_TARGET_MANIFEST_ENTRIES;
  if (!Number.isInteger(target) || target < 1) throw new InvalidInputError('targetManifestEntries must be an integer ≥ 1');
  const name = formatIdentifier(opts.id);
  const table = await loadTable(opts);
  const current = currentSnapshot(table.metadata);
  if (!current) throw new InvalidInputError(`table ${name} has no snapshot; there are no manifests to rewrite`);
  if (!needsRewrite(await readManifestList(opts.io, current), target)) {
    return { snapshotId: current['snapshot-id'], metadataLocation: table.metadataLocation, alreadyCommitted: true };
  }
  const cache = new Map<string, ManifestEntry[]>();
  return commitSnapshot({
    io: opts.io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    sharedFiles: () => [],
    onNewSnapshotId: () => undefined,
    prepare: async ({ base, snapshotId, sequenceNumber }) => {
      const metadata = base.metadata;
      const snap = currentSnapshot(metadata);
      const manifests = snap ? await readManifestList(opts.io, snap) : [];
      const kept = manifests.filter((m) => m.content !== 0);
      const bySpec = new Map<number, Array<{ entry: ManifestEntry; key: string }>>();
      let replaced = 0;
      for (const m of manifests) {
        if (m.content !== 0) continue;
        replaced++;
        let entries = cache.get(m.manifestPath);
        if (!entries) {
          entries = await readManifestEntries(opts.io, metadata, m);
          cache.set(m.manifestPath, entries);
        }
        const group = bySpec.get(m.partitionSpecId) ?? [];
        for (const e of entries) {
          if (e.status === 2) continue;
          // Rewritten entries are EXISTING and must carry explicit sequence numbers (spec: Sequence Number Inheritance).
          const seq = e.sequenceNumber ?? m.sequenceNumber;
          const fileSeq = e.fileSequenceNumber ?? m.sequenceNumber;
          group.push({
            entry: { status: 0, snapshotId: e.snapshotId ?? m.addedSnapshotId, sequenceNumber: seq, fileSequenceNumber: fileSeq, dataFile: e.dataFile, partitionTuple: e.partitionTuple },
            key: partitionSortKey(e.partitionTuple),
          });
        }
        bySpec.set(m.partitionSpecId, group);
      }
      const ctx = { io: opts.io, metadata, schema: currentSchema(metadata) };
      const rewritten: ManifestFile[] = [];
      for (const [specId, group] of bySpec) {
        group.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        for (let i = 0; i < group.length; i += target) {
          const chunk = group.slice(i, i + target).map((g) => g.entry);
          const minSeq = Math.min(...chunk.map((e) => e.sequenceNumber!));
          rewritten.push(await writeManifest(ctx, specId, chunk, { addedSnapshotId: snapshotId, sequenceNumber, minSequenceNumber: minSeq }));
        }
      }
      return {
        operation: 'replace',
        manifests: [...rewritten, ...kept],
        attemptFiles: rewritten.map((m) => m.manifestPath),
        summary: buildSummary({
          base: await baseTotals(opts.io, metadata),
          added: [],
          removed: [],
          changedPartitions: 0,
          manifestsCreated: rewritten.length,
          manifestsKept: kept.length,
          manifestsReplaced: replaced,
        }),
      };
    },
  });
}

function needsRewrite(manifests: ManifestFile[], target: number): boolean {
  const perSpec = new Map<number, ManifestFile[]>();
  for (const m of manifests) {
    if (m.content !== 0) continue;
    if (m.deletedFilesCount > 0) return true;
    perSpec.set(m.partitionSpecId, [...(perSpec.get(m.partitionSpecId) ?? []), m]);
  }
  for (const group of perSpec.values()) {
    const live = group.reduce((n, m) => n + m.addedFilesCount + m.existingFilesCount, 0);
    if (group.length > Math.max(1, Math.ceil(live / target))) return true;
  }
  return false;
}

export interface RemoveOrphanFilesOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  /** Only files last modified before now − olderThanMs are candidates: protects files of in-flight writes. */
  olderThanMs: number;
  dryRun?: boolean;
}

/**
 * Deletes files under the table location that nothing references: not the current metadata file or one in its
 * metadata-log, not version-hint.text, and not a manifest list, manifest or data file of any snapshot of those
 * metadata files. Needs `io.list`.
 */
export async function removeOrphanFiles(opts: RemoveOrphanFilesOptions): Promise<{ orphans: string[]; deleted: string[] }> {
  if (!Number.isFinite(opts.olderThanMs) || opts.olderThanMs < 0) throw new InvalidInputError('olderThanMs must be a non-negative number');
  if (!opts.io.list) throw new UnsupportedTableError('removeOrphanFiles needs an ObjectIO that can list objects');
  const table = await loadTable(opts);
  const cutoff = Date.now() - opts.olderThanMs;
  const prefix = `${table.metadata.location.replace(/\/+$/, '')}/`;
  // List first: anything written after the listing is not a candidate at all.
  const listed = (await opts.io.list(prefix)).filter((o) => o.lastModified.getTime() < cutoff);

  const referenced = new Set<string>([versionHintLocation(table.metadata.location)]);
  const seenMetadata = new Set<string>();
  const seenManifests = new Set<string>();
  const reach = emptyReach();
  const visit = async (loaded: LoadedTable): Promise<void> => {
    const queue: Array<{ location: string; metadata?: TableMetadata }> = [{ location: loaded.metadataLocation, metadata: loaded.metadata }];
    for (const e of loaded.metadata['metadata-log']) queue.push({ location: e['metadata-file'] });
    for (const item of queue) {
      if (seenMetadata.has(item.location)) continue;
      seenMetadata.add(item.location);
      referenced.add(item.location);
      let md = item.metadata;
      if (!md) {
        try {
          md = await readTableMetadata(opts.io, item.location);
        } catch {
          // An old metadata file that is gone or unreadable references nothing we could still need.
          continue;
        }
      }
      const unseen = md.snapshots.filter((s) => !reach.manifestLists.has(s['manifest-list']));
      await collectReach({ io: opts.io, metadata: md, snapshots: unseen, reach, allEntries: true, missingOk: item.metadata === undefined, seenManifests });
    }
  };
  await visit(table);
  // A commit may have landed while we read: whatever the newest state references is referenced too.
  const after = await loadTable(opts);
  if (after.metadataLocation !== table.metadataLocation) await visit(after);
  for (const f of allFiles(reach)) referenced.add(f);

  const orphans = listed.map((o) => o.uri).filter((uri) => !referenced.has(uri)).sort();
  if (opts.dryRun) return { orphans, deleted: [] };
  return { orphans, deleted: (await deleteAll(opts.io, orphans)).sort() };
}
