// The metadata this process committed last, per table: a writer that commits again finds the pointer unchanged and
// skips reading and parsing the metadata file it wrote itself (the one S3 GET per commit that grows with history).
// Entries belong to the catalog's cacheScope, so catalog objects made per call over one pool (the writer's commit job
// makes one per batch, for its swap hook) share them.
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier } from './catalog-store.js';
import type { TableMetadata } from './metadata.js';

// Bounds how long an entry is trusted: a metadata location is only reused if the table is dropped, its files purged
// and it is re-created and committed to again up to the same version by another process in the meantime.
const TTL_MS = 30_000;
const MAX_TABLES = 256;

interface Committed {
  location: string;
  metadata: TableMetadata;
  at: number;
}

const byScope = new WeakMap<object, Map<string, Committed>>();

const scopeOf = (catalog: CatalogStore): object => catalog.cacheScope ?? catalog;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * Remembers `metadata` as what `location` holds; the object is frozen (it is shared with later commits, so nobody may
 * change it) and returned.
 */
export function rememberCommitted(catalog: CatalogStore, id: TableIdentifier, location: string, metadata: TableMetadata): TableMetadata {
  const scope = scopeOf(catalog);
  let tables = byScope.get(scope);
  if (!tables) byScope.set(scope, (tables = new Map<string, Committed>()));
  const key = formatIdentifier(id);
  const now = Date.now();
  tables.delete(key);
  // Entries are kept in the order they were remembered, so the expired ones lead: drop them (a process that committed
  // to many tables once would otherwise hold each one's metadata long after it can be used).
  for (const [k, v] of tables) {
    if (now - v.at <= TTL_MS && tables.size < MAX_TABLES) break;
    tables.delete(k);
  }
  tables.set(key, { location, metadata: deepFreeze(metadata), at: now });
  return metadata;
}

/** The metadata at `location` if this process committed it there recently, else undefined. */
export function committedMetadata(catalog: CatalogStore, id: TableIdentifier, location: string): TableMetadata | undefined {
  const tables = byScope.get(scopeOf(catalog));
  const key = formatIdentifier(id);
  const hit = tables?.get(key);
  if (!hit) return undefined;
  if (hit.location !== location || Date.now() - hit.at > TTL_MS) {
    if (Date.now() - hit.at > TTL_MS) tables!.delete(key);
    return undefined;
  }
  return hit.metadata;
}

/** What this process committed to the table last, if recently: the likely current pointer (a guess the swap checks). */
export function lastCommitted(catalog: CatalogStore, id: TableIdentifier): { location: string; metadata: TableMetadata } | undefined {
  const hit = byScope.get(scopeOf(catalog))?.get(formatIdentifier(id));
  if (!hit || Date.now() - hit.at > TTL_MS) return undefined;
  return { location: hit.location, metadata: hit.metadata };
}

/** How many tables the cache holds for `catalog` (for tests and memory checks). */
export function committedTables(catalog: CatalogStore): number {
  return byScope.get(scopeOf(catalog))?.size ?? 0;
}

export function forgetCommitted(catalog: CatalogStore, id: TableIdentifier): void {
  byScope.get(scopeOf(catalog))?.delete(formatIdentifier(id));
}
