// Scan planning: which manifests and data files a snapshot (or a range of snapshots) holds.
import { mapLimited } from './concurrency.js';
import { CorruptMetadataError, InvalidInputError, UnsupportedTableError, isObjectNotFound } from './errors.js';
import type { ObjectIO } from './io.js';
import type { DataFile, ManifestEntry, ManifestFile } from './manifest.js';
import { decodeManifest, decodeManifestList } from './manifest.js';
import type { Snapshot, TableMetadata } from './metadata.js';
import { ancestors, currentSchema, currentSnapshot, schemaById, snapshotById, specById } from './metadata.js';
import type { PartitionSpec, ResolvedPartitionField } from './partition.js';
import { resolvePartitionSpec } from './partition.js';
import type { IcebergSchema } from './types.js';

const MANIFEST_READ_CONCURRENCY = 8;


export function resolvedSpec(metadata: TableMetadata, specId: number, where: string): { spec: PartitionSpec; resolved: ResolvedPartitionField[] } {
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

// Decoded manifest lists by location, up to a total number of manifests named: a list is immutable (fresh random
// name, create-if-absent). The next commit to a table starts from the list the previous one wrote, so a writer rarely
// reads one back; snapshot expiry finds here the lists of the snapshots it expires (one GET each otherwise, a thousand
// after a thousand small appends). Consecutive lists of one table share their ManifestFile objects, so an entry costs
// little more than its array. Never consulted for a list that must exist (readManifestList always reads).
const MANIFEST_LIST_CACHE_MAX_MANIFESTS = 200_000;
const manifestLists = new Map<string, readonly ManifestFile[]>();
let manifestListCacheManifests = 0;

export function rememberManifestList(location: string, manifests: readonly ManifestFile[]): void {
  if (manifests.length > MANIFEST_LIST_CACHE_MAX_MANIFESTS / 4) return;
  forgetManifestList(location);
  while (manifestListCacheManifests + manifests.length > MANIFEST_LIST_CACHE_MAX_MANIFESTS && manifestLists.size > 0) {
    forgetManifestList(manifestLists.keys().next().value!);
  }
  manifestLists.set(location, Object.freeze([...manifests]));
  manifestListCacheManifests += manifests.length;
}

export function rememberedManifestList(location: string): readonly ManifestFile[] | undefined {
  return manifestLists.get(location);
}

export function forgetManifestList(location: string): void {
  const had = manifestLists.get(location);
  if (!had) return;
  manifestLists.delete(location);
  manifestListCacheManifests -= had.length;
}

// Decoded manifests by location, up to an estimated size in memory: a manifest is immutable (fresh random name,
// create-if-absent), and maintenance reads the same ones again right after planning (compaction: plan, then overwrite).
// A decoded entry's size follows its column statistics (measured with a forced GC: ~2 KB per entry with 5 columns'
// stats, ~4 KB with 20, ~8 KB with 60), so the bound is on an estimate from them, not on the number of entries: 200,000
// entries of a wide table would have been over a gigabyte.
const MANIFEST_CACHE_MAX_BYTES = 128 * 1024 * 1024;
const manifestCache = new Map<string, { entries: readonly ManifestEntry[]; bytes: number }>();
let manifestCacheBytes = 0;

const statKeys = (m: Record<number, unknown> | undefined): number => (m ? Object.keys(m).length : 0);

/** A generous estimate of a decoded entry's heap size (above the measured sizes for 5–60 columns of stats). */
export function estimatedEntryBytes(e: ManifestEntry): number {
  const f = e.dataFile;
  const keys = statKeys(f.columnSizes) + statKeys(f.valueCounts) + statKeys(f.nullValueCounts) + statKeys(f.nanValueCounts) + statKeys(f.lowerBounds) + statKeys(f.upperBounds);
  let bounds = 0;
  for (const v of Object.values(f.lowerBounds ?? {})) bounds += v.length;
  for (const v of Object.values(f.upperBounds ?? {})) bounds += v.length;
  return 1024 + 32 * keys + 2 * (f.filePath.length + bounds) + 16 * e.partitionTuple.length;
}

function rememberManifest(location: string, entries: readonly ManifestEntry[]): void {
  let bytes = 0;
  for (const e of entries) bytes += estimatedEntryBytes(e);
  if (bytes > MANIFEST_CACHE_MAX_BYTES / 4) return;
  forgetDecodedManifest(location);
  while (manifestCacheBytes + bytes > MANIFEST_CACHE_MAX_BYTES && manifestCache.size > 0) forgetDecodedManifest(manifestCache.keys().next().value!);
  manifestCache.set(location, { entries, bytes });
  manifestCacheBytes += bytes;
}

function forgetDecodedManifest(location: string): void {
  const had = manifestCache.get(location);
  if (!had) return;
  manifestCache.delete(location);
  manifestCacheBytes -= had.bytes;
}

/** How many decoded manifests the cache holds and their estimated size (for tests and memory checks). */
export function manifestCacheSize(): { manifests: number; estimatedBytes: number } {
  return { manifests: manifestCache.size, estimatedBytes: manifestCacheBytes };
}

// The bytes of manifests this process wrote for appends that landed, by location, up to a total size. Every ~100
// appends (commit.manifest.min-count-to-merge) an append merges the small manifests of its base, and for a process
// that appends to a table alone those are manifests it wrote itself: decoding them from here instead of reading each
// back saves ~100 GETs per merge. Manifests are immutable (fresh random name, create-if-absent), so the bytes are what
// a read would return. Only the append merge consults this (`ownManifestEntries`); scans and maintenance read through
// `readManifestEntries` as before, so a manifest damaged in the store still fails them.
const OWN_MANIFEST_CACHE_MAX_BYTES = 32 * 1024 * 1024;
const ownManifests = new Map<string, Uint8Array>();
let ownManifestBytes = 0;

/** Remembers the bytes of a manifest this process wrote and a landed commit names. */
export function rememberOwnManifest(location: string, bytes: Uint8Array): void {
  if (bytes.length > OWN_MANIFEST_CACHE_MAX_BYTES / 4) return;
  forgetOwnManifest(location);
  while (ownManifestBytes + bytes.length > OWN_MANIFEST_CACHE_MAX_BYTES && ownManifests.size > 0) forgetOwnManifest(ownManifests.keys().next().value!);
  ownManifests.set(location, bytes);
  ownManifestBytes += bytes.length;
}

export function forgetOwnManifest(location: string): void {
  const had = ownManifests.get(location);
  if (!had) return;
  ownManifests.delete(location);
  ownManifestBytes -= had.length;
}

/** How many manifests and bytes the own-manifest cache holds (for tests and memory checks). */
export function ownManifestCacheSize(): { manifests: number; bytes: number } {
  return { manifests: ownManifests.size, bytes: ownManifestBytes };
}

/**
 * The entries of a data manifest, decoded from the bytes this process wrote when it still has them, else as
 * `readManifestEntries` reads them. Fresh objects on every call from the bytes; shared ones otherwise (read-only).
 */
export async function ownManifestEntries(io: ObjectIO, metadata: TableMetadata, manifest: ManifestFile): Promise<ManifestEntry[]> {
  const bytes = manifest.content === 0 ? ownManifests.get(manifest.manifestPath) : undefined;
  if (!bytes) return readManifestEntries(io, metadata, manifest);
  const { resolved } = resolvedSpec(metadata, manifest.partitionSpecId, manifest.manifestPath);
  return decodeManifest({ bytes, location: manifest.manifestPath, resolved, specId: manifest.partitionSpecId }).entries;
}

/** Drops a manifest from both caches (snapshot expiry deleted it: nothing may read it again). */
export function forgetManifest(location: string): void {
  forgetOwnManifest(location);
  forgetDecodedManifest(location);
}

/** The entries of a data manifest. The array is shared with later readers: treat it (and its entries) as read-only. */
export async function readManifestEntries(io: ObjectIO, metadata: TableMetadata, manifest: ManifestFile): Promise<ManifestEntry[]> {
  if (manifest.content !== 0) throw new UnsupportedTableError(`manifest ${manifest.manifestPath} tracks delete files; Atoll does not support row-level deletes`);
  const cached = manifestCache.get(manifest.manifestPath);
  if (cached) return cached.entries as ManifestEntry[];
  const entries = await decodeManifestEntries(io, metadata, manifest);
  rememberManifest(manifest.manifestPath, entries);
  return entries;
}

async function decodeManifestEntries(io: ObjectIO, metadata: TableMetadata, manifest: ManifestFile): Promise<ManifestEntry[]> {
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
    // Only manifests that can hold this snapshot's ADDED or DELETED entries (the counts are required in v2, and the
    // reference implementation's incremental scans filter on them the same way). A merged manifest written by an
    // appending snapshot holds only EXISTING entries, and it grows with the table: reading (and caching) one per ~100
    // appends made every incremental read pay for the whole table again.
    const manifests = (await readManifestList(opts.io, snap)).filter((m) => m.addedSnapshotId === id && (m.addedFilesCount > 0 || m.deletedFilesCount > 0));
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

/** Schema a snapshot was written with (falls back to the current schema for snapshots without schema-id). */
export function snapshotSchema(metadata: TableMetadata, snapshot: Snapshot): IcebergSchema {
  return (snapshot['schema-id'] !== undefined ? schemaById(metadata, snapshot['schema-id']) : undefined) ?? currentSchema(metadata);
}
