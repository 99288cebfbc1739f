// Who sees what in the Iceberg REST catalog: operators see the lake bucket's namespaces, a consumer only the
// namespaces of its own cleanrooms; plus where a table lives and the table-scoped STS credentials vended for it.
//
// A consumer's namespace is one level, `cr_<cleanroom id without dashes>`: stock engines differ on nested namespaces
// (DuckDB 1.4 lists only the top level unless told otherwise and then lists that level's tables; Trino needs a flag),
// while one level works everywhere and needs no quoting (a letter first). The catalog store keeps cleanroom tables
// under ['cleanroom', <hex>] (`cleanroomTableId()` in @atoll/lake); this file maps between the two.
import type { ClientPrincipal } from '@atoll/identity';
import { cleanroomTableId } from '@atoll/lake';
import { StsCredentialCache, vendedCredentialsRole, type PolicyDocument, type TemporaryCredentials } from '@atoll/storage';
import { principalOf } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { IcebergRestError, forbidden } from './errors.js';
import type { FastifyRequest } from 'fastify';

/** First namespace level of cleanroom tables in the catalog store (`cleanroomTableId()` in @atoll/lake); never shown. */
export const CLEANROOM_LEVEL = 'cleanroom';
/** What a consumer's namespace starts with; the rest is the cleanroom id without dashes. */
export const CLEANROOM_NAMESPACE_PREFIX = 'cr_';
const CLEANROOM_NAMESPACE_RE = /^cr_([0-9a-f]{32})$/;

/** The catalog namespace of a cleanroom's tables as consumers see it: `cr_<id without dashes>`. */
export function cleanroomNamespace(cleanroomId: string): string {
  return `${CLEANROOM_NAMESPACE_PREFIX}${cleanroomId.replaceAll('-', '').toLowerCase()}`;
}

/** Namespaces whose first level is reserved for cleanrooms (either form): never a lake namespace. */
export function isCleanroomNamespace(namespace: readonly string[]): boolean {
  const first = namespace[0] ?? '';
  return first === CLEANROOM_LEVEL || first.startsWith(CLEANROOM_NAMESPACE_PREFIX);
}
/** Lake namespaces the writers own; they exist without a row in iceberg_namespaces and cannot be dropped. */
export const BUILT_IN_NAMESPACES = ['raw', 'published'] as const;
/** The shortest lifetime MinIO STS grants; clients refresh through loadTable or …/credentials. */
export const VENDED_CREDENTIALS_SECONDS = 900;
/**
 * Vended credentials for the same table and rights are reused while at least this much of their lifetime remains
 * (so for their first 5 minutes): every client still gets 10 minutes or more, and concurrent loads of one table no
 * longer each wait for an STS call that MinIO persists.
 */
export const VENDED_CREDENTIALS_MIN_REMAINING_SECONDS = 600;

// Namespace levels and table names become S3 key segments: keep them to a safe, unambiguous alphabet.
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

export function validName(what: 'namespace level' | 'table name' | 'view name', name: string): string {
  if (!NAME_RE.test(name)) throw new IcebergRestError('BadRequestException', `${what} ${JSON.stringify(name)} must be 1–128 letters, digits, _ or - (not starting with -)`);
  return name;
}

/** Decodes the `{namespace}` path parameter: levels joined by the unit separator (0x1F), as the REST spec says. */
export function parseNamespaceParam(param: string): string[] {
  const levels = param.split('\u001f');
  for (const level of levels) validName('namespace level', level);
  return levels;
}

export type Caller = { kind: 'operator'; principal: ClientPrincipal } | { kind: 'consumer'; principal: ClientPrincipal; consumerId: string };

export function callerOf(request: FastifyRequest): Caller {
  const principal = principalOf(request);
  if (principal.kind !== 'client') throw forbidden('the Iceberg catalog is for operator and consumer API keys');
  if (principal.roles.includes('operator')) return { kind: 'operator', principal };
  if (principal.roles.includes('consumer')) return { kind: 'consumer', principal, consumerId: principal.orgId };
  throw forbidden('the Iceberg catalog is for operators and consumers');
}

/** Where a namespace's tables live and what the caller may do there. */
export interface NamespaceScope {
  /** The namespace as the caller names it. */
  namespace: string[];
  /** The namespace under which the catalog store keeps its tables (differs for cleanrooms). */
  storageNamespace: string[];
  bucket: string;
  /** Key prefix of a table in this namespace (no leading or trailing slash). */
  tableKey(name: string): string;
  writable: boolean;
  /** True when the namespace exists without a row in iceberg_namespaces (built-in or a cleanroom). */
  implicit: boolean;
}

const sameLevels = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class CatalogAccess {
  readonly #sts: StsCredentialCache;

  constructor(
    private readonly config: Config,
    private readonly deps: Pick<ApiDeps, 'pool' | 'storageAdmin'>,
  ) {
    this.#sts = new StsCredentialCache(deps.storageAdmin, { minRemainingSeconds: VENDED_CREDENTIALS_MIN_REMAINING_SECONDS });
  }

  /** Cleanrooms of a consumer, keyed by the id without dashes (the suffix of its namespace). */
  async cleanroomsOf(consumerId: string): Promise<Map<string, { id: string; bucket: string }>> {
    const { rows } = await this.deps.pool.query<{ id: string; bucket: string }>('SELECT id, bucket FROM cleanrooms WHERE consumer_id = $1', [consumerId]);
    return new Map(rows.map((r) => [r.id.replaceAll('-', '').toLowerCase(), r]));
  }

  /**
   * The scope of `namespace` for `caller`, or an error: 403 when the namespace is of the other kind (a consumer asking
   * for the lake, an operator for a cleanroom), 404 when it does not exist for this caller (another consumer's
   * cleanroom looks exactly like a missing one).
   */
  async scope(caller: Caller, namespace: string[]): Promise<NamespaceScope> {
    const isCleanroom = isCleanroomNamespace(namespace);
    if (caller.kind === 'operator') {
      if (isCleanroom) throw forbidden('cleanroom namespaces belong to their consumers; operators see the lake');
      const builtIn = namespace.length === 1 && (BUILT_IN_NAMESPACES as readonly string[]).includes(namespace[0]!);
      if (!builtIn && !(await this.lakeNamespaceExists(namespace))) throw noSuchNamespace(namespace);
      const bucket = this.config.ATOLL_BUCKET_LAKE;
      // raw and published belong to the writers: read-only here, so their vended credentials are read-only too.
      return { namespace, storageNamespace: namespace, bucket, tableKey: (name) => [...namespace, name].join('/'), writable: !builtIn, implicit: builtIn };
    }
    if (!isCleanroom) throw forbidden('a consumer sees only the namespaces of its own cleanrooms');
    const hex = namespace.length === 1 ? CLEANROOM_NAMESPACE_RE.exec(namespace[0]!)?.[1] : undefined;
    const cleanroom = hex === undefined ? undefined : (await this.cleanroomsOf(caller.consumerId)).get(hex);
    if (!cleanroom) throw noSuchNamespace(namespace);
    // The store keys the table where the cleanroom worker puts it; cleanroomTableId() is the one source of that key.
    const storageNamespace = cleanroomTableId(cleanroom.id, 'table').namespace;
    // Cleanroom tables are written by the cleanroom worker only; consumers read them.
    return { namespace, storageNamespace, bucket: cleanroom.bucket, tableKey: (name) => name, writable: false, implicit: true };
  }

  /** A lake namespace exists when it was created here or when Atoll's writers put a table in it. */
  async lakeNamespaceExists(namespace: string[]): Promise<boolean> {
    const key = namespace.join('.');
    const { rowCount } = await this.deps.pool.query(
      'SELECT 1 FROM iceberg_namespaces WHERE namespace = $1 UNION ALL SELECT 1 FROM iceberg_tables WHERE namespace = $1 LIMIT 1',
      [key],
    );
    return (rowCount ?? 0) > 0;
  }

  async namespaceRow(namespace: string[]): Promise<{ properties: Record<string, string> } | null> {
    const { rows } = await this.deps.pool.query<{ properties: Record<string, string> }>('SELECT properties FROM iceberg_namespaces WHERE namespace = $1', [namespace.join('.')]);
    return rows[0] ?? null;
  }

  /** Every namespace the caller can see, as full level lists. */
  async visibleNamespaces(caller: Caller): Promise<string[][]> {
    if (caller.kind === 'consumer') {
      return [...(await this.cleanroomsOf(caller.consumerId)).keys()].sort().map((hex) => [`${CLEANROOM_NAMESPACE_PREFIX}${hex}`]);
    }
    const { rows } = await this.deps.pool.query<{ namespace: string }>(
      `SELECT namespace FROM iceberg_namespaces
        UNION SELECT DISTINCT namespace FROM iceberg_tables WHERE namespace <> $1 AND namespace NOT LIKE $2
        ORDER BY 1`,
      [CLEANROOM_LEVEL, `${CLEANROOM_LEVEL}.%`],
    );
    const all = [...BUILT_IN_NAMESPACES.map((n) => [n]), ...rows.map((r) => r.namespace.split('.')).filter((ns) => !isCleanroomNamespace(ns))];
    return all.filter((ns, i) => all.findIndex((o) => sameLevels(o, ns)) === i);
  }

  /**
   * Whether `ns` is implied by a deeper namespace without being one (`a` when only `a.b` was made). Listings show it (as
   * Iceberg's catalogs do), so loading it and listing its tables and views answer as for an empty namespace, not 404.
   */
  async isImplied(caller: Caller, ns: string[]): Promise<boolean> {
    return (await this.childNamespaces(caller, ns)).length > 0;
  }

  /** Direct children of `parent` (top-level namespaces when it is empty), including levels implied by deeper ones. */
  async childNamespaces(caller: Caller, parent: string[]): Promise<string[][]> {
    const out: string[][] = [];
    for (const ns of await this.visibleNamespaces(caller)) {
      if (ns.length <= parent.length || !parent.every((p, i) => ns[i] === p)) continue;
      const child = ns.slice(0, parent.length + 1);
      if (!out.some((o) => sameLevels(o, child))) out.push(child);
    }
    return out;
  }

  /** Short-lived S3 credentials that reach only `s3://bucket/key/…`: read, plus write when the scope allows it. */
  /**
   * Credentials for the table's own location as its metadata records it (tables written by Atoll's writers or other
   * engines need not sit at the namespace-derived path). A location outside the namespace's bucket — or, for a
   * consumer, outside its table's key — is refused rather than vended.
   */
  async vend(scope: NamespaceScope, tableName: string, tableLocation?: string): Promise<TemporaryCredentials> {
    let key = scope.tableKey(tableName);
    if (tableLocation !== undefined) {
      const m = /^s3a?:\/\/([^/]+)\/(.+?)\/*$/.exec(tableLocation);
      if (!m || m[1] !== scope.bucket) throw forbidden('the table lives outside its namespace\'s bucket; no credentials are vended for it');
      if (!scope.writable && m[2] !== key && !m[2]!.startsWith(`${key}/`)) throw forbidden('the table lives outside its cleanroom path; no credentials are vended for it');
      key = m[2]!;
    }
    // The policy alone decides what the keys reach, and the caller's right to that scope is checked above.
    return this.#sts.assumeRole({
      policy: tablePolicy(scope.bucket, key, scope.writable),
      durationSeconds: VENDED_CREDENTIALS_SECONDS,
      role: vendedCredentialsRole(this.config.ATOLL_S3_ACCESS_KEY),
    });
  }

  /** The FileIO properties an Iceberg client needs for those credentials. */
  credentialConfig(creds: TemporaryCredentials): Record<string, string> {
    return {
      's3.endpoint': this.config.ATOLL_S3_PUBLIC_ENDPOINT ?? this.config.ATOLL_S3_ENDPOINT,
      's3.access-key-id': creds.accessKeyId,
      's3.secret-access-key': creds.secretAccessKey,
      's3.session-token': creds.sessionToken,
      's3.session-token-expires-at-ms': String(creds.expiresAt.getTime()),
      's3.region': this.config.ATOLL_S3_REGION,
      's3.path-style-access': 'true',
      'client.region': this.config.ATOLL_S3_REGION,
    };
  }
}

export function noSuchNamespace(namespace: string[]): IcebergRestError {
  return new IcebergRestError('NoSuchNamespaceException', `Namespace does not exist: ${namespace.join('.')}`);
}

/**
 * The inline session policy of vended credentials. MinIO intersects it with the api user's own policy, so even a
 * writable scope can only put objects under the table's data/ and metadata/ (see packages/storage policies.ts).
 */
export function tablePolicy(bucket: string, key: string, writable: boolean): PolicyDocument {
  const objects = `arn:aws:s3:::${bucket}/${key}/*`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`], Condition: { StringLike: { 's3:prefix': [key, `${key}/*`] } } },
      { Effect: 'Allow', Action: writable ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'], Resource: [objects] },
    ],
  };
}
