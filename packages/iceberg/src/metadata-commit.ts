// Metadata-only commits (schema changes, snapshot expiry): new vN.metadata.json, then the same compare-and-swap of
// the catalog pointer that snapshot commits use, retried against a fresh base when another writer won the race.
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier } from './catalog-store.js';
import type { LoadedTable } from './commit.js';
import { deleteQuietly, loadTable, writeNewMetadataVersion, writeVersionHint } from './commit.js';
import { CommitConflictError } from './errors.js';
import type { ObjectIO } from './io.js';
import type { TableMetadata } from './metadata.js';
import { PREVIOUS_VERSIONS_MAX_PROPERTY, metadataVersion } from './metadata.js';

const DEFAULT_MAX_RETRIES = 30;
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;
const VERSION_PROBES = 16;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `next` with the metadata-log extended by `base` and last-updated-ms moved forward (never backwards). */
export function nextMetadata(base: LoadedTable, next: TableMetadata, nowMs = Date.now()): TableMetadata {
  const maxPrevious = Number(base.metadata.properties[PREVIOUS_VERSIONS_MAX_PROPERTY] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
  const keep = Number.isInteger(maxPrevious) && maxPrevious >= 1 ? maxPrevious : DEFAULT_PREVIOUS_VERSIONS_MAX;
  const log = [...base.metadata['metadata-log'], { 'timestamp-ms': base.metadata['last-updated-ms'], 'metadata-file': base.metadataLocation }];
  return {
    ...next,
    'last-updated-ms': Math.max(nowMs, base.metadata['last-updated-ms'] + 1),
    'metadata-log': log.slice(Math.max(0, log.length - keep)),
  };
}

export interface MetadataCommitResult<T> {
  /** The table as committed (or as loaded, when `update` decided there was nothing to do). */
  table: LoadedTable;
  committed: boolean;
  value: T;
}

/**
 * Loads the table, lets `update` derive the next metadata from it (or return `next: null` for "nothing to do"), and
 * swaps it in. `update` runs again on every retry, against the newest base, so its validation is redone there.
 */
export async function commitMetadata<T>(opts: {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  maxRetries?: number;
  update: (base: LoadedTable) => Promise<{ next: TableMetadata | null; value: T }> | { next: TableMetadata | null; value: T };
}): Promise<MetadataCommitResult<T>> {
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  const name = formatIdentifier(opts.id);
  let tableUuid: string | undefined;
  let lastConflict = '';
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    if (attempt > 0) await sleep(Math.random() * Math.min(1000, 10 * 2 ** attempt));
    const base = await loadTable(opts);
    if (tableUuid !== undefined && base.metadata['table-uuid'] !== tableUuid) {
      throw new CommitConflictError(`table ${name} was replaced while committing (uuid ${tableUuid} → ${base.metadata['table-uuid']})`);
    }
    tableUuid = base.metadata['table-uuid'];
    const { next, value } = await opts.update(base);
    if (next === null) return { table: base, committed: false, value };
    const metadata = nextMetadata(base, next);
    const baseVersion = metadataVersion(base.metadataLocation) ?? base.metadata['metadata-log'].length + 1;
    const location = await writeNewMetadataVersion(opts.io, metadata, baseVersion + 1);
    if (location === null) {
      lastConflict = `metadata versions v${baseVersion + 1}..v${baseVersion + VERSION_PROBES} are all taken`;
      continue;
    }
    let swapped: boolean;
    try {
      swapped = await opts.catalog.compareAndSwap(opts.id, base.metadataLocation, location);
    } catch (err) {
      // The outcome is unknown: the file may be current now, so it must stay. The next attempt sees either state.
      lastConflict = `compare-and-swap failed: ${(err as Error).message}`;
      const after = await opts.catalog.load(opts.id).catch(() => null);
      if (after?.metadataLocation === location) {
        await writeVersionHint({ io: opts.io, catalog: opts.catalog, id: opts.id, location: base.metadata.location });
        return { table: { id: opts.id, metadata, metadataLocation: location }, committed: true, value };
      }
      if (attempt === maxRetries) throw err;
      continue;
    }
    if (swapped) {
      await writeVersionHint({ io: opts.io, catalog: opts.catalog, id: opts.id, location: base.metadata.location });
      return { table: { id: opts.id, metadata, metadataLocation: location }, committed: true, value };
    }
    lastConflict = `${base.metadataLocation} was no longer current`;
    await deleteQuietly(opts.io, [location]);
  }
  throw new CommitConflictError(`metadata commit to table ${name} failed after ${maxRetries + 1} attempts (last: ${lastConflict})`);
}
