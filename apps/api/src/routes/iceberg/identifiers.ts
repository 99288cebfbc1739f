// Identifiers and locations shared by the table and view routes: a `{namespace}/{name}` as the caller names it,
// resolved to the catalog store's key and the namespace's scope, and where a new table or view of it lives.
import { randomUUID } from 'node:crypto';
import type { ObjectIO, TableIdentifier } from '@atoll/iceberg';
import type { FastifyRequest } from 'fastify';
import { BUILT_IN_NAMESPACES, callerOf, parseNamespaceParam, validName, type CatalogAccess, type NamespaceScope } from './access.js';
import { IcebergRestError, badRequest, forbidden } from './errors.js';

/** A table or view as the caller names it (`named`, for answers and logs) and as the catalog store keys it (`id`). */
export interface ResolvedIdentifier {
  scope: NamespaceScope;
  id: TableIdentifier;
  named: string;
}

type NameKind = 'table name' | 'view name';

/**
 * The identifier as the caller names it and as the store keys it: they differ for cleanrooms, whose `cr_<hex>`
 * namespace is kept as ['cleanroom', <hex>]. A missing namespace is NoSuchNamespaceException.
 */
export async function resolveIdentifier(access: CatalogAccess, request: FastifyRequest, params: { namespace: string | string[]; name: string }, kind: NameKind = 'table name'): Promise<ResolvedIdentifier> {
  const ns = Array.isArray(params.namespace) ? params.namespace.map((l) => validName('namespace level', l)) : parseNamespaceParam(params.namespace);
  const scope = await access.scope(callerOf(request), ns);
  const name = validName(kind, params.name);
  return { scope, id: { namespace: scope.storageNamespace, name }, named: [...ns, name].join('.') };
}

/**
 * resolveIdentifier() for operations on an existing table or view: a missing namespace means a missing table or view
 * (the spec's 404 for load, exists, commit and drop is NoSuchTableException / NoSuchViewException). Spark depends on
 * it: it resolves `db.t.partitions` by first loading table `partitions` in namespace `db.t`, and only a
 * NoSuchTableException sends it on to the metadata table.
 */
export async function resolveExistingIdentifier(
  access: CatalogAccess,
  request: FastifyRequest,
  params: { namespace: string | string[]; name: string },
  missing: (named: string) => IcebergRestError,
  kind: NameKind = 'table name',
): Promise<ResolvedIdentifier> {
  try {
    return await resolveIdentifier(access, request, params, kind);
  } catch (err) {
    if (err instanceof IcebergRestError && err.type === 'NoSuchNamespaceException') {
      const ns = Array.isArray(params.namespace) ? params.namespace : params.namespace.split('\u001f');
      throw missing([...ns, params.name].join('.'));
    }
    throw err;
  }
}

export function requireWritable(scope: NamespaceScope, what = 'cleanroom tables'): void {
  if (scope.writable) return;
  // raw and published are written only by Atoll's writers: a commit from outside would bypass deduplication,
  // pseudonymisation and the licensing of every row, and a delete file would stop deliveries of the dataset.
  if (isWritersNamespace(scope.namespace)) throw forbidden(`tables in ${scope.namespace[0]} belong to Atoll's writers and are read-only through the catalog`);
  throw forbidden(`${what} are read-only through the catalog`);
}

export const isWritersNamespace = (ns: readonly string[]): boolean => ns.length === 1 && (BUILT_IN_NAMESPACES as readonly string[]).includes(ns[0]!);

/**
 * The longest key prefix a table or view may live under. S3 keys end at 1,024 bytes; a table's files add their own
 * part below its location (a fresh sibling's `-<32 hex>`, `/metadata/<version>-<uuid>.metadata.json`, data files under
 * partition paths), so names that would leave them no room are refused up front rather than failing at the first write.
 */
export const MAX_LOCATION_KEY_BYTES = 640;

/** Refuses a key prefix longer than MAX_LOCATION_KEY_BYTES, naming what is too long and by how much. */
export function requireKeyRoom(key: string, what: string): void {
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_LOCATION_KEY_BYTES) {
    throw badRequest(`${what} would live under a ${bytes}-byte key (${key.slice(0, 40)}…); at most ${MAX_LOCATION_KEY_BYTES} bytes leave room below S3's 1,024-byte key limit for its files: use shorter namespace levels or name`);
  }
}

/** Where a new table or view of `name` lives by default: s3://<bucket>/<namespace levels>/<name>. */
export function homeLocation(scope: NamespaceScope, name: string): string {
  const key = scope.tableKey(name);
  requireKeyRoom(key, 'this table or view');
  return `s3://${scope.bucket}/${key}`;
}

/**
 * The location of a new table or view. The catalog chooses it: a client may repeat the default (`asked`), nothing
 * else (a location elsewhere could point into another table's or tenant's prefix). When the default still holds files
 * (a table or view dropped without purge) the new one gets a fresh sibling, `<home>-<32 hex>`, so their metadata
 * versions never interleave; asking for the occupied default explicitly is then a conflict (`occupied`).
 */
export async function chooseLocation(opts: { io: ObjectIO; home: string; asked: string | undefined; what: string; occupied: (detail: string) => IcebergRestError }): Promise<string> {
  const { io, home } = opts;
  const asked = opts.asked?.replace(/\/+$/, '');
  if (asked !== undefined && asked !== home) throw badRequest(`${opts.what} live at ${home}; a different location cannot be chosen`);
  if ((await io.list!(`${home}/`)).length === 0) return home;
  if (asked !== undefined) throw opts.occupied(`location ${home} still holds the files of a dropped table or view; leave location unset and the catalog picks a fresh one`);
  return `${home}-${randomUUID().replaceAll('-', '')}`;
}

/** Whether `location` is `home` or a fresh sibling chooseLocation() could have picked. */
export const isChosenLocation = (location: string, home: string): boolean => location === home || (location.startsWith(`${home}-`) && /^[0-9a-f]{32}$/.test(location.slice(home.length + 1)));
