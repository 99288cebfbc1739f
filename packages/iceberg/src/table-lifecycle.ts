// Table lifecycle: create, load, drop, the vN.metadata.json files and version-hint.text that path-based readers use.
import { randomUUID } from 'node:crypto';
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier, validateIdentifier } from './catalog-store.js';
import { TableAlreadyExistsError, TableNotFoundError } from './errors.js';
import { MAX_VERSION_PROBES, readPointedMetadata, writeFirstFreeVersion } from './metadata-files.js';
import { forgetCommitted } from './committed-cache.js';
import type { ObjectIO } from './io.js';
import type { SortField, TableMetadata } from './metadata.js';
import { metadataVersion, newTableMetadata, normalizeLocation, parseTableMetadata, serializeTableMetadataBytes } from './metadata.js';
import type { PartitionFieldInput, PartitionSpec } from './partition.js';
import { UNPARTITIONED_SPEC, buildPartitionSpec } from './partition.js';
import type { IcebergSchema } from './types.js';
import { validateSchema } from './types.js';
import { checkSortFields } from './updates.js';

export interface LoadedTable {
  id: TableIdentifier;
  metadata: TableMetadata;
  metadataLocation: string;
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

export function metadataDir(metadata: TableMetadata): string {
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
  return parseTableMetadata(await readPointedMetadata(io, location, 'the metadata file the catalog points at does not exist'), location);
}

export async function loadTable(opts: { io: ObjectIO; catalog: CatalogStore; id: TableIdentifier }): Promise<LoadedTable> {
  validateIdentifier(opts.id);
  const pointer = await opts.catalog.load(opts.id);
  if (!pointer) throw new TableNotFoundError(formatIdentifier(opts.id));
  return { id: opts.id, metadata: await readTableMetadata(opts.io, pointer.metadataLocation), metadataLocation: pointer.metadataLocation };
}

/** Writes `metadata/vN.metadata.json` for the first free N ≥ `from` (create-if-absent), returning its location. */
// Used by the commit engine (commit.ts); not part of the package's public surface.
export async function writeNewMetadataVersion(io: ObjectIO, metadata: TableMetadata, from: number): Promise<string | null> {
  return writeFirstFreeVersion(io, metadataDir(metadata), serializeTableMetadataBytes(metadata), from);
}

/**
 * Points `metadata/version-hint.text` at the catalog's current version. Concurrent committers may finish out of
 * order, so after writing we re-read the pointer and rewrite until the hint matches what is current. Returns the
 * version it wrote last (null: none).
 */
export async function writeVersionHint(opts: {
  io: ObjectIO;
  catalog: CatalogStore;
  id: TableIdentifier;
  location: string;
  /** The pointer as the caller just saw it (the commit engine right after its swap): saves the first catalog read. */
  current?: { metadataLocation: string };
}): Promise<number | null> {
  const hint = versionHintLocation(opts.location);
  let current = opts.current ?? (await opts.catalog.load(opts.id));
  let written: number | null = null;
  for (let i = 0; i < 8 && current; i++) {
    const version = metadataVersion(current.metadataLocation);
    // Only our own vN naming under this table's metadata/ can be expressed as a bare-integer hint.
    if (version === null || !current.metadataLocation.startsWith(`${opts.location.replace(/\/+$/, '')}/metadata/`)) return written;
    await opts.io.write(hint, utf8(String(version)));
    written = version;
    const after = await opts.catalog.load(opts.id);
    if (!after || after.metadataLocation === current.metadataLocation) return written;
    current = after;
  }
  return written;
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
  /** The table's sort order (fields over `schema`'s column ids); unsorted when omitted. */
  sortOrder?: SortField[];
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
  if (opts.sortOrder) checkSortFields(opts.schema, opts.sortOrder);
  const metadata = newTableMetadata({ location, schema: opts.schema, partitionSpec: spec, ...(opts.properties ? { properties: opts.properties } : {}), ...(opts.sortOrder ? { sortOrder: opts.sortOrder } : {}) });
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
  forgetCommitted(opts.catalog, opts.id);
  return opts.catalog.drop(opts.id);
}
