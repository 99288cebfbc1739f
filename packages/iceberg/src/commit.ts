// The commit engine: every change to a table — appends, overwrites, maintenance, schema updates, REST commits — is
// derived from a freshly loaded base, written as v<N+1>.metadata.json and made current by a compare-and-swap of the
// catalog pointer, retried against the new base when another writer won the race.
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier, validateIdentifier } from './catalog-store.js';
import { CommitConflictError, CorruptMetadataError, InvalidInputError, TableNotFoundError, isObjectNotFound } from './errors.js';
import type { ObjectIO } from './io.js';
import { deleteQuietly } from './io.js';
import { decodeManifestList, manifestFilePaths } from './manifest.js';
import type { Snapshot, TableMetadata } from './metadata.js';
import { metadataVersion, parseTableMetadata, recordPreviousMetadata, serializeTableMetadata, snapshotById } from './metadata.js';
import type { LoadedTable } from './table-lifecycle.js';
import { MAX_VERSION_PROBES } from './metadata-files.js';
import { readTableMetadata, writeNewMetadataVersion, writeVersionHint } from './table-lifecycle.js';
import { committedMetadata, lastCommitted, rememberCommitted } from './committed-cache.js';
import type { TableRequirement, TableUpdate } from './updates.js';
import { addedSnapshots, applyUpdates, failedRequirement } from './updates.js';
import { mapLimited } from './concurrency.js';
import type { VersionHintMode } from './version-hints.js';
import { scheduleVersionHint } from './version-hints.js';

const DEFAULT_MAX_RETRIES = 30;
const RETRY_MIN_WAIT_MS = 10;
const RETRY_MAX_WAIT_MS = 1000;
const MANIFEST_READ_CONCURRENCY = 8;
const ATTEMPT_WRITE_CONCURRENCY = 8;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface CommitAttemptContext {
  base: LoadedTable;
  attempt: number;
  /** An earlier attempt's swap failed with an error, so it may have landed without the engine seeing it. */
  unknownOutcome: boolean;
}

export interface CommitAttempt<T> {
  /** The metadata to make current (metadata-log and last-updated-ms are filled in here); null: nothing to write. */
  next: TableMetadata | null;
  value: T;
  /** Files written for this attempt only (manifest list, rewritten manifests); deleted when its swap is lost. */
  attemptFiles?: string[];
  /**
   * Files the engine writes (create-if-absent) at the same time as the metadata file, all before the swap: one round
   * trip instead of one after the other. Deleted with the attempt's files when its swap is lost, unless `shared` (then
   * the caller reuses them in later attempts and lists them in `sharedFiles`).
   */
  writes?: Array<{ location: string; bytes: Uint8Array; shared?: boolean }>;
}

export interface CommitOutcome<T> {
  /** The table as committed, or the base as loaded when the attempt had nothing to write. */
  table: LoadedTable;
  committed: boolean;
  value: T;
}

export interface CommitWithRetryOptions<T> {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  maxRetries?: number;
  /** Derives the next metadata from a base; runs again on every retry, so its checks are redone against that base. */
  attempt: (ctx: CommitAttemptContext) => Promise<CommitAttempt<T>> | CommitAttempt<T>;
  /** Files written once and reused across attempts; deleted when the commit finally fails (and no swap's outcome is unknown). */
  sharedFiles?: () => string[];
  /** Leave files of lost attempts for orphan removal (for callers without delete rights on the lake, e.g. the api). */
  keepLostFiles?: boolean;
  /**
   * `background`: return as soon as the swap landed and write version-hint.text afterwards (see VersionHintMode);
   * a failure of that write is reported to onVersionHintFailure, never to this call. Default `await`.
   */
  versionHint?: VersionHintMode;
}

interface UnknownSwap<T> {
  location: string;
  metadata: TableMetadata;
  value: T;
}

/**
 * The one optimistic-concurrency loop. Per attempt: load the base (refusing a table replaced under the same name —
 * another uuid), let `attempt` derive the next metadata, write it create-if-absent as the first free v<N+1>, swap.
 * A swap that throws has an unknown outcome: the engine reloads, and if the pointer or the metadata-log shows the
 * file it wrote, that commit landed and is returned instead of being applied twice.
 */
export async function commitWithRetry<T>(opts: CommitWithRetryOptions<T>): Promise<CommitOutcome<T>> {
  const { io, catalog, id } = opts;
  const name = formatIdentifier(id);
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  const unknown: Array<UnknownSwap<T>> = [];
  let tableUuid: string | undefined;
  let lastConflict = '';
  // Set once a swap is known to have landed: from then on the commit's files are live, whatever fails after.
  let live = false;
  const landed = async (swap: UnknownSwap<T>, pointerSeen = false): Promise<CommitOutcome<T>> => {
    live = true;
    rememberCommitted(catalog, id, swap.location, swap.metadata);
    if (opts.versionHint === 'background') scheduleVersionHint(io, { catalog, id, location: swap.metadata.location, metadataLocation: swap.location, pointerSeen });
    else await writeVersionHint({ io, catalog, id, location: swap.metadata.location, ...(pointerSeen ? { current: { metadataLocation: swap.location } } : {}) });
    return { table: { id, metadata: swap.metadata, metadataLocation: swap.location }, committed: true, value: swap.value };
  };
  // The first attempt builds on what this process committed last, without reading the pointer: the swap compares
  // against that location, so a stale guess (another process committed since) only costs one lost attempt, which
  // neither sleeps nor counts as a retry. A process appending to a table it alone writes saves a round trip per commit.
  let guess = lastCommitted(catalog, id);
  let guessMissed = false;
  try {
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      // Full jitter: concurrent losers spread out instead of colliding again in lockstep.
      if (attempt > 0 && !guessMissed) await sleep(Math.random() * Math.min(RETRY_MAX_WAIT_MS, RETRY_MIN_WAIT_MS * 2 ** attempt));
      guessMissed = false;
      const guessed = guess;
      guess = undefined;
      if (guessed) validateIdentifier(id);
      const base = guessed ? { id, metadata: guessed.metadata, metadataLocation: guessed.location } : await loadBase(io, catalog, id);
      if (tableUuid !== undefined && base.metadata['table-uuid'] !== tableUuid) {
        throw new CommitConflictError(`table ${name} was replaced while committing (uuid ${tableUuid} → ${base.metadata['table-uuid']})`);
      }
      // A guess is not evidence of which table the name holds (it may have been replaced since): only a read is.
      if (!guessed) tableUuid = base.metadata['table-uuid'];
      const done = unknown.find((u) => u.location === base.metadataLocation || base.metadata['metadata-log'].some((e) => e['metadata-file'] === u.location));
      if (done) return await landed(done);

      let derived: CommitAttempt<T>;
      try {
        derived = await opts.attempt({ base, attempt, unknownOutcome: unknown.length > 0 });
      } catch (err) {
        // A refusal (a failed requirement, a conflict) is only an answer when the base was read, not guessed.
        if (!guessed) throw err;
        derived = { next: null, value: undefined as T };
      }
      const { next, value, attemptFiles: ownFiles = [], writes = [] } = derived;
      if (next === null && guessed) {
        // Nothing to do (or a refusal) against the guess: decide against the table as it is.
        guessMissed = true;
        attempt -= 1;
        continue;
      }
      if (next === null) return { table: base, committed: false, value };
      const attemptFiles = [...ownFiles, ...writes.filter((w) => !w.shared).map((w) => w.location)];
      const metadata = recordPreviousMetadata(base.metadata, next, { previousMetadataLocation: base.metadataLocation, nowMs: Date.now() });
      const baseVersion = metadataVersion(base.metadataLocation) ?? base.metadata['metadata-log'].length + 1;
      const location = await writeAttempt(io, metadata, baseVersion + 1, writes, !opts.keepLostFiles);
      if (location === null) {
        lastConflict = `metadata versions v${baseVersion + 1}..v${baseVersion + MAX_VERSION_PROBES} are all taken`;
        if (!opts.keepLostFiles) await deleteQuietly(io, attemptFiles);
        if (guessed) {
          guessMissed = true;
          attempt -= 1;
        }
        continue;
      }
      let swapped: boolean;
      try {
        swapped = await catalog.compareAndSwap(id, base.metadataLocation, location);
      } catch (err) {
        // The swap may have happened although we saw an error (e.g. the connection dropped after COMMIT). Keep the
        // attempt's files — they may be live — and look: the pointer or, after later commits, the metadata-log tells.
        lastConflict = `compare-and-swap failed: ${(err as Error).message}`;
        const swap = { location, metadata, value };
        const after = await catalog.load(id).catch(() => null);
        if (after?.metadataLocation === location) return await landed(swap, true);
        unknown.push(swap);
        if (attempt === maxRetries) throw err;
        continue;
      }
      if (swapped) return await landed({ location, metadata, value }, true);
      lastConflict = `${base.metadataLocation} was no longer current`;
      if (!opts.keepLostFiles) await deleteQuietly(io, [...attemptFiles, location]);
      if (guessed) {
        guessMissed = true;
        attempt -= 1;
      }
    }
    throw new CommitConflictError(`commit to table ${name} failed after ${maxRetries + 1} attempts (last: ${lastConflict})`);
  } catch (err) {
    // Shared files go only when no swap landed or may have: a failure after the swap (the version hint's write or
    // read, e.g. the database restarting) must not take the manifests of a committed snapshot with it.
    if (!live && unknown.length === 0 && opts.sharedFiles && !opts.keepLostFiles) await deleteQuietly(io, opts.sharedFiles());
    throw err;
  }
}

/**
 * The base of an attempt: the pointer from the catalog, and the metadata it names — from memory when this process
 * committed it (the file is immutable once the pointer names it), else read from the store.
 */
async function loadBase(io: ObjectIO, catalog: CatalogStore, id: TableIdentifier): Promise<LoadedTable> {
  validateIdentifier(id);
  const pointer = await catalog.load(id);
  if (!pointer) throw new TableNotFoundError(formatIdentifier(id));
  const known = committedMetadata(catalog, id, pointer.metadataLocation);
  if (known) return { id, metadata: known, metadataLocation: pointer.metadataLocation };
  return { id, metadata: await readTableMetadata(io, pointer.metadataLocation), metadataLocation: pointer.metadataLocation };
}

/**
 * Writes the attempt's files and its metadata file (the first free v<N>) side by side. Returns the metadata file's
 * location, or null when every probed version was taken. When any write fails, what this call wrote is removed (if
 * `cleanUp`) — shared files excepted — and the error thrown: nothing was swapped, so nothing refers to them.
 */
async function writeAttempt(io: ObjectIO, metadata: TableMetadata, from: number, writes: NonNullable<CommitAttempt<unknown>['writes']>, cleanUp: boolean): Promise<string | null> {
  // The small writes are handed to the store first: serializing (and the S3 client hashing) the metadata file, which
  // grows with the table's history, then overlaps with them instead of delaying their requests.
  const filesWritten = mapLimited(writes, ATTEMPT_WRITE_CONCURRENCY, async (w) => {
    await io.write(w.location, w.bytes, { ifNoneMatch: true });
  });
  const [files, meta] = await Promise.allSettled([filesWritten, writeNewMetadataVersion(io, metadata, from)]);
  if (files.status === 'rejected') {
    if (cleanUp) await deleteQuietly(io, [...(meta.status === 'fulfilled' && meta.value !== null ? [meta.value] : []), ...writes.filter((w) => !w.shared).map((w) => w.location)]);
    throw files.reason;
  }
  if (meta.status === 'rejected') {
    if (cleanUp) await deleteQuietly(io, writes.filter((w) => !w.shared).map((w) => w.location));
    throw meta.reason;
  }
  return meta.value;
}

// ---- commits of requirements + updates (the REST catalog's commitTable) ----------------------------------------

/** True when `uri` lies under `location`/ without `.`/`..` segments that a normalizing reader would resolve elsewhere. */
export function isUnderLocation(uri: string, location: string): boolean {
  const prefix = `${location.replace(/\/+$/, '')}/`;
  if (!uri.startsWith(prefix)) return false;
  return !uri
    .slice(prefix.length)
    .split('/')
    .some((segment) => segment === '.' || segment === '..');
}

async function readForCheck(io: ObjectIO, uri: string, what: string): Promise<Uint8Array> {
  try {
    return await io.read(uri);
  } catch (err) {
    if (isObjectNotFound(err)) throw new InvalidInputError(`${what} ${uri} does not exist`, { cause: err });
    throw err;
  }
}

/**
 * Refuses (InvalidInputError) a snapshot that references a manifest, data file or delete file outside the table's
 * location: a catalog client holds credentials for its table's prefix only, and the table must not come to own, and
 * later delete, another table's files. Manifests the parent snapshot already lists were checked when they were added
 * and are not read again; `checked` carries manifests found good across retries (files are immutable).
 */
export async function checkSnapshotFileLocations(opts: { io: ObjectIO; base: TableMetadata; snapshot: Snapshot; checked?: Set<string> }): Promise<void> {
  const { io, base, snapshot } = opts;
  const location = base.location;
  const checked = opts.checked ?? new Set<string>();
  const outside = (what: string, uri: string): InvalidInputError =>
    new InvalidInputError(`snapshot ${snapshot['snapshot-id']} references ${what} ${uri} outside the table location ${location}/; a commit may only reference files under its table`);
  const listUri = snapshot['manifest-list'];
  if (!isUnderLocation(listUri, location)) throw outside('the manifest list', listUri);
  const decodeList = (bytes: Uint8Array, uri: string) => {
    try {
      return decodeManifestList(bytes, uri);
    } catch (err) {
      if (err instanceof CorruptMetadataError) throw new InvalidInputError(`the manifest list ${uri} is not readable: ${err.message}`, { cause: err });
      throw err;
    }
  };
  const manifests = decodeList(await readForCheck(io, listUri, 'the manifest list'), listUri);
  const parentId = snapshot['parent-snapshot-id'];
  const parent = parentId === undefined ? undefined : snapshotById(base, parentId);
  if (parent && manifests.some((m) => !checked.has(m.manifestPath))) {
    for (const m of decodeList(await readForCheck(io, parent['manifest-list'], 'the manifest list'), parent['manifest-list'])) checked.add(m.manifestPath);
  }
  const unchecked = manifests.filter((m) => !checked.has(m.manifestPath));
  for (const m of unchecked) {
    if (!isUnderLocation(m.manifestPath, location)) throw outside('the manifest', m.manifestPath);
  }
  await mapLimited(unchecked, MANIFEST_READ_CONCURRENCY, async (m) => {
    let paths: string[];
    try {
      paths = manifestFilePaths(await readForCheck(io, m.manifestPath, 'the manifest'), m.manifestPath);
    } catch (err) {
      if (err instanceof CorruptMetadataError) throw new InvalidInputError(`the manifest ${m.manifestPath} is not readable: ${err.message}`, { cause: err });
      throw err;
    }
    const foreign = paths.find((p) => !isUnderLocation(p, location));
    if (foreign !== undefined) throw outside(m.content === 1 ? 'the delete file' : 'the data file', foreign);
    checked.add(m.manifestPath);
  });
}

export interface CommitTableUpdatesOptions {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  requirements: readonly TableRequirement[];
  updates: readonly TableUpdate[];
  maxRetries?: number;
  keepLostFiles?: boolean;
  versionHint?: VersionHintMode;
}

/**
 * Checks `requirements` against the current metadata, applies `updates` and commits — requirements are re-checked
 * against every new base, so they always held for the metadata the swap replaced (else CommitConflictError). Snapshots
 * the updates add must reference only files under the table's location (else InvalidInputError, nothing written).
 */
export async function commitTableUpdates(opts: CommitTableUpdatesOptions): Promise<CommitOutcome<undefined>> {
  // Manifests and manifest lists are immutable and the engine keeps the table (uuid) fixed, so a retry after a lost
  // swap need not read them again.
  const checked = new Set<string>();
  const checkedLists = new Set<string>();
  return commitWithRetry({
    io: opts.io,
    catalog: opts.catalog,
    id: opts.id,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    ...(opts.keepLostFiles !== undefined ? { keepLostFiles: opts.keepLostFiles } : {}),
    ...(opts.versionHint !== undefined ? { versionHint: opts.versionHint } : {}),
    attempt: async ({ base }) => {
      const failed = failedRequirement(base.metadata, opts.requirements);
      if (failed !== null) throw new CommitConflictError(failed);
      if (opts.updates.length === 0) return { next: null, value: undefined };
      const next = applyUpdates(base.metadata, opts.updates);
      // A round trip through the strict reader rejects anything inconsistent (e.g. main not at the current snapshot).
      try {
        parseTableMetadata(serializeTableMetadata(next), 'the committed metadata');
      } catch (err) {
        throw new InvalidInputError(`the updates would produce invalid table metadata: ${(err as Error).message}`, { cause: err });
      }
      for (const snapshot of addedSnapshots(base.metadata, next)) {
        if (checkedLists.has(snapshot['manifest-list'])) continue;
        await checkSnapshotFileLocations({ io: opts.io, base: next, snapshot, checked });
        checkedLists.add(snapshot['manifest-list']);
      }
      return { next, value: undefined };
    },
  });
}
