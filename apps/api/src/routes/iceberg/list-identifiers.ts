// The body of the two identifier list routes (`…/tables`, `…/views`): the caller's scope of the namespace, the names
// the store holds there, and one page of them. Tables and views page alike; only the store and the route differ.
import type { FastifyRequest } from 'fastify';
import type { TableIdentifier } from '@atoll/iceberg';
import { callerOf, parseNamespaceParam, type CatalogAccess, type Caller } from './access.js';
import { IcebergRestError } from './errors.js';
import { listingOf, nextPageTokenField, type PageTokens } from './pagination.js';

export async function listIdentifiers(opts: {
  access: CatalogAccess;
  pages: PageTokens;
  request: FastifyRequest;
  route: 'tables' | 'views';
  namespace: string;
  query: { pageToken?: string | undefined; pageSize?: string | undefined };
  /** The store's entries of one kind in a namespace, as the catalog store keys it. */
  list: (storageNamespace: string[]) => Promise<TableIdentifier[]>;
}): Promise<{ identifiers: TableIdentifier[]; 'next-page-token'?: string | null }> {
  const ns = parseNamespaceParam(opts.namespace);
  const caller = callerOf(opts.request);
  // The store lists by name in Postgres order; paging compares in code, so sort the same way here.
  const names = (await storedNames(opts, caller, ns)).sort();
  const page = opts.pages.page({ listing: listingOf(opts.route, caller, ns), sorted: names, keyOf: (n) => n, pageToken: opts.query.pageToken, pageSize: opts.query.pageSize });
  return { identifiers: page.items.map((name) => ({ namespace: ns, name })), ...nextPageTokenField(page) };
}

/** The names the store holds in `ns`; none in a level implied by a deeper namespace (listings show it, as Iceberg's catalogs do). */
async function storedNames(opts: { access: CatalogAccess; list: (storageNamespace: string[]) => Promise<TableIdentifier[]> }, caller: Caller, ns: string[]): Promise<string[]> {
  try {
    const scope = await opts.access.scope(caller, ns);
    return (await opts.list(scope.storageNamespace)).map((entry) => entry.name);
  } catch (err) {
    if (err instanceof IcebergRestError && err.type === 'NoSuchNamespaceException' && (await opts.access.isImplied(caller, ns))) return [];
    throw err;
  }
}
