// View lifecycle: create, load, commit (requirements + updates, compare-and-swap on the view's pointer, retried on a
// lost swap against the new base) and drop. View metadata files are `<location>/metadata/vN.metadata.json`, written
// create-if-absent like table metadata, so a lost attempt never overwrites a live file.
import type { TableIdentifier, ViewCatalogStore } from './catalog-store.js';
import { formatIdentifier, validateIdentifier } from './catalog-store.js';
import { CommitConflictError, ViewNotFoundError } from './errors.js';
import type { ObjectIO } from './io.js';
import { metadataVersion } from './metadata.js';
import { MAX_VERSION_PROBES, readPointedMetadata, writeFirstFreeVersion } from './metadata-files.js';
import type { ViewMetadata, ViewRequirement, ViewUpdate, ViewVersion } from './view-metadata.js';
import { applyViewUpdates, failedViewRequirement, newViewMetadata, parseViewMetadata, serializeViewMetadata, viewReplacedError } from './view-metadata.js';
import type { IcebergSchema } from './types.js';

export interface LoadedView {
  id: TableIdentifier;
  metadata: ViewMetadata;
  metadataLocation: string;
}

const DEFAULT_MAX_RETRIES = 10;

/** Writes `<location>/metadata/vN.metadata.json` for the first free N ≥ `from`; null when MAX_VERSION_PROBES are taken. */
async function writeViewMetadataVersion(io: ObjectIO, metadata: ViewMetadata, from: number): Promise<string | null> {
  return writeFirstFreeVersion(io, `${metadata.location}/metadata`, new Uint8Array(Buffer.from(serializeViewMetadata(metadata), 'utf8')), from);
}

export async function readViewMetadata(io: ObjectIO, location: string): Promise<ViewMetadata> {
  return parseViewMetadata(await readPointedMetadata(io, location, 'the view metadata file the catalog points at does not exist'), location);
}

export async function loadView(opts: { io: ObjectIO; views: ViewCatalogStore; id: TableIdentifier }): Promise<LoadedView> {
  validateIdentifier(opts.id);
  const pointer = await opts.views.load(opts.id);
  if (!pointer) throw new ViewNotFoundError(formatIdentifier(opts.id));
  return { id: opts.id, metadata: await readViewMetadata(opts.io, pointer.metadataLocation), metadataLocation: pointer.metadataLocation };
}

export interface CreateViewOptions {
  io: ObjectIO;
  views: ViewCatalogStore;
  id: TableIdentifier;
  location: string;
  schema: IcebergSchema;
  version: ViewVersion;
  properties?: Record<string, string>;
}

/**
 * Writes the new view's first metadata file and inserts its pointer. The identifier is shared with tables: if a table
 * or view holds it the store throws IdentifierTakenError (the written file stays for orphan-file maintenance).
 */
export async function createView(opts: CreateViewOptions): Promise<LoadedView> {
  validateIdentifier(opts.id);
  const metadata = newViewMetadata({ location: opts.location, schema: opts.schema, version: opts.version, ...(opts.properties ? { properties: opts.properties } : {}) });
  const metadataLocation = await writeViewMetadataVersion(opts.io, metadata, 1);
  if (metadataLocation === null) throw new CommitConflictError(`location ${metadata.location} already holds view metadata files v1..v${MAX_VERSION_PROBES}`);
  await opts.views.create(opts.id, metadataLocation);
  return { id: opts.id, metadata, metadataLocation };
}

/**
 * Checks `requirements` against the current view metadata, applies `updates`, writes the next metadata file and swaps
 * the pointer; a lost swap reloads and redoes all of it against the new base (server-side retry, so two replaces of
 * one view both land, one after the other). A view dropped meanwhile is ViewNotFoundError; a failed requirement or a
 * view replaced under the same name (another uuid) is CommitConflictError; bad updates are InvalidInputError.
 */
export async function commitViewUpdates(opts: {
  io: ObjectIO;
  views: ViewCatalogStore;
  id: TableIdentifier;
  requirements: readonly ViewRequirement[];
  updates: readonly ViewUpdate[];
  maxRetries?: number;
}): Promise<LoadedView> {
  const name = formatIdentifier(opts.id);
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  let uuid: string | undefined;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(500, 10 * 2 ** attempt)));
    const base = await loadView(opts);
    if (uuid !== undefined && base.metadata['view-uuid'] !== uuid) throw viewReplacedError(name, uuid, base.metadata['view-uuid']);
    uuid = base.metadata['view-uuid'];
    const failed = failedViewRequirement(base.metadata, opts.requirements);
    if (failed !== null) throw new CommitConflictError(failed);
    if (opts.updates.length === 0) return base;
    const next = applyViewUpdates(base.metadata, opts.updates);
    const version = (metadataVersion(base.metadataLocation) ?? base.metadata['version-log'].length) + 1;
    const location = await writeViewMetadataVersion(opts.io, next, version);
    if (location === null) continue;
    if (await opts.views.compareAndSwap(opts.id, base.metadataLocation, location)) return { id: opts.id, metadata: next, metadataLocation: location };
  }
  throw new CommitConflictError(`commit to view ${name} failed after ${maxRetries + 1} attempts: others kept committing`);
}

export async function dropView(opts: { views: ViewCatalogStore; id: TableIdentifier }): Promise<boolean> {
  validateIdentifier(opts.id);
  return opts.views.drop(opts.id);
}
