// The table → current-metadata-location pointer, swapped atomically on commit (Postgres in production, memory in tests).
import type { Pool, PoolClient } from 'pg';
import { IdentifierTakenError, InvalidInputError, TableAlreadyExistsError } from './errors.js';

export interface TableIdentifier {
  namespace: string[];
  name: string;
}

export interface CatalogStore {
  load(id: TableIdentifier): Promise<{ metadataLocation: string } | null>;
  /** Throws TableAlreadyExistsError when the identifier is taken. */
  create(id: TableIdentifier, metadataLocation: string): Promise<void>;
  /** Points the table at `next` only if it still points at `expected`; false on conflict or when the table is gone. */
  compareAndSwap(id: TableIdentifier, expected: string, next: string): Promise<boolean>;
  list(namespace: string[]): Promise<TableIdentifier[]>;
  drop(id: TableIdentifier): Promise<boolean>;
  /**
   * Stores with the same scope hold the same pointers (the Postgres stores on one pool), so what this process committed
   * through one of them is known to the others (committed-cache.ts). A store without one is its own scope.
   */
  readonly cacheScope?: object;
}

/** "ns1.ns2.table" for messages. */
export function formatIdentifier(id: TableIdentifier): string {
  return [...id.namespace, id.name].join('.');
}

/** Namespace levels joined with '.', which is why a level may not contain one. */
export function namespaceKey(namespace: string[]): string {
  if (namespace.length === 0) throw new InvalidInputError('a table namespace needs at least one level');
  for (const level of namespace) {
    if (typeof level !== 'string' || level.length === 0 || level.includes('.')) {
      throw new InvalidInputError(`namespace level ${JSON.stringify(level)} must be a non-empty string without "."`);
    }
  }
  return namespace.join('.');
}

export function validateIdentifier(id: TableIdentifier): void {
  namespaceKey(id.namespace);
  if (typeof id.name !== 'string' || id.name.length === 0) throw new InvalidInputError('a table name must be a non-empty string');
}

/** In-process store for unit tests of the commit logic; CAS is atomic because JS runs it without interleaving. */
export class MemoryCatalogStore implements CatalogStore {
  private readonly tables = new Map<string, string>();

  private key(id: TableIdentifier): string {
    validateIdentifier(id);
    return `${namespaceKey(id.namespace)}\u0000${id.name}`;
  }

  /** Runs synchronously but reports errors as rejections, like the database-backed store. */
  private settle<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  load(id: TableIdentifier): Promise<{ metadataLocation: string } | null> {
    return this.settle(() => {
      const loc = this.tables.get(this.key(id));
      return loc === undefined ? null : { metadataLocation: loc };
    });
  }

  create(id: TableIdentifier, metadataLocation: string): Promise<void> {
    return this.settle(() => {
      const key = this.key(id);
      if (this.tables.has(key)) throw new TableAlreadyExistsError(formatIdentifier(id));
      this.tables.set(key, metadataLocation);
    });
  }

  compareAndSwap(id: TableIdentifier, expected: string, next: string): Promise<boolean> {
    return this.settle(() => {
      const key = this.key(id);
      if (this.tables.get(key) !== expected) return false;
      this.tables.set(key, next);
      return true;
    });
  }

  list(namespace: string[]): Promise<TableIdentifier[]> {
    return this.settle(() => {
      const prefix = `${namespaceKey(namespace)}\u0000`;
      const names = [...this.tables.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
      return names.sort().map((name) => ({ namespace: [...namespace], name }));
    });
  }

  drop(id: TableIdentifier): Promise<boolean> {
    return this.settle(() => this.tables.delete(this.key(id)));
  }
}

/** What a row of `iceberg_tables` points at: a table's or a view's current metadata file (migration 014). */
export type CatalogEntryKind = 'table' | 'view';

/** How a rename ended: moved, no such entry of that kind, or the destination is held by a table or view. */
export type RenameOutcome = 'renamed' | 'missing' | 'taken';

const UNIQUE_VIOLATION = '23505';

/**
 * The pointer rows of `iceberg_tables`, one kind at a time: the one home of the SQL both stores run. The compare-and-swap
 * is one conditional UPDATE, so Postgres row locking serializes concurrent committers and exactly one of them sees
 * rowCount = 1; it also names the kind, so a swap can only ever move a pointer of the store's own kind.
 */
const pointerRows = {
  async load(db: Pick<Pool, 'query'>, kind: CatalogEntryKind, id: TableIdentifier): Promise<{ metadataLocation: string } | null> {
    validateIdentifier(id);
    const res = await db.query<{ metadata_location: string }>(
      'SELECT metadata_location FROM iceberg_tables WHERE namespace = $1 AND name = $2 AND kind = $3',
      [namespaceKey(id.namespace), id.name, kind],
    );
    const row = res.rows[0];
    return row ? { metadataLocation: row.metadata_location } : null;
  },

  /** False when a row of either kind already holds the identifier (the primary key is shared). */
  async insert(db: Pick<Pool, 'query'>, kind: CatalogEntryKind, id: TableIdentifier, metadataLocation: string): Promise<boolean> {
    validateIdentifier(id);
    const res = await db.query(
      'INSERT INTO iceberg_tables (namespace, name, metadata_location, kind) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, name) DO NOTHING',
      [namespaceKey(id.namespace), id.name, metadataLocation, kind],
    );
    return res.rowCount === 1;
  },

  async compareAndSwap(db: Pick<PoolClient, 'query'>, kind: CatalogEntryKind, id: TableIdentifier, expected: string, next: string): Promise<boolean> {
    validateIdentifier(id);
    const res = await db.query(
      `UPDATE iceberg_tables
          SET metadata_location = $4, previous_metadata_location = metadata_location, updated_at = now()
        WHERE namespace = $1 AND name = $2 AND kind = $5 AND metadata_location = $3`,
      [namespaceKey(id.namespace), id.name, expected, next, kind],
    );
    return res.rowCount === 1;
  },

  async list(db: Pick<Pool, 'query'>, kind: CatalogEntryKind, namespace: string[]): Promise<TableIdentifier[]> {
    const res = await db.query<{ name: string }>('SELECT name FROM iceberg_tables WHERE namespace = $1 AND kind = $2 ORDER BY name', [namespaceKey(namespace), kind]);
    return res.rows.map((r) => ({ namespace: [...namespace], name: r.name }));
  },

  /** Moves an entry of `kind`; 'taken' when a row of either kind holds `to` (the database refuses it atomically). */
  async rename(db: Pick<Pool, 'query'>, kind: CatalogEntryKind, from: TableIdentifier, to: TableIdentifier): Promise<RenameOutcome> {
    validateIdentifier(from);
    validateIdentifier(to);
    try {
      const res = await db.query(
        'UPDATE iceberg_tables SET namespace = $3, name = $4, updated_at = now() WHERE namespace = $1 AND name = $2 AND kind = $5',
        [namespaceKey(from.namespace), from.name, namespaceKey(to.namespace), to.name, kind],
      );
      return res.rowCount === 1 ? 'renamed' : 'missing';
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return 'taken';
      throw err;
    }
  },

  async drop(db: Pick<Pool, 'query'>, kind: CatalogEntryKind, id: TableIdentifier): Promise<boolean> {
    validateIdentifier(id);
    const res = await db.query('DELETE FROM iceberg_tables WHERE namespace = $1 AND name = $2 AND kind = $3', [namespaceKey(id.namespace), id.name, kind]);
    return res.rowCount === 1;
  },
};

/** One kind's rows of `iceberg_tables` as a pointer store: what the table and view stores do alike. */
abstract class PgEntryStore {
  constructor(
    protected readonly pool: Pick<Pool, 'query'>,
    private readonly kind: CatalogEntryKind,
  ) {}

  /** Every store on this pool reads the same rows (a writer's per-batch transactional stores included). */
  get cacheScope(): object {
    return this.pool;
  }

  load(id: TableIdentifier): Promise<{ metadataLocation: string } | null> {
    return pointerRows.load(this.pool, this.kind, id);
  }

  compareAndSwap(id: TableIdentifier, expected: string, next: string): Promise<boolean> {
    return pointerRows.compareAndSwap(this.pool, this.kind, id, expected, next);
  }

  list(namespace: string[]): Promise<TableIdentifier[]> {
    return pointerRows.list(this.pool, this.kind, namespace);
  }

  drop(id: TableIdentifier): Promise<boolean> {
    return pointerRows.drop(this.pool, this.kind, id);
  }

  /** Moves the entry `from` to `to` (its files stay where they are). */
  rename(from: TableIdentifier, to: TableIdentifier): Promise<RenameOutcome> {
    return pointerRows.rename(this.pool, this.kind, from, to);
  }

  /** Inserts the pointer; false when a table or view already holds the identifier. */
  protected insert(id: TableIdentifier, metadataLocation: string): Promise<boolean> {
    return pointerRows.insert(this.pool, this.kind, id, metadataLocation);
  }
}

/**
 * Postgres store on the `iceberg_tables` table (migration owned by @atoll/db). Views are rows of the same table
 * (kind = 'view', migration 014) so the two share one identifier space; this store sees tables only.
 */
export class PgCatalogStore extends PgEntryStore implements CatalogStore {
  constructor(pool: Pick<Pool, 'query'>) {
    super(pool, 'table');
  }

  async create(id: TableIdentifier, metadataLocation: string): Promise<void> {
    if (!(await this.insert(id, metadataLocation))) throw new TableAlreadyExistsError(formatIdentifier(id));
  }
}

/** Runs inside the swap's transaction after the pointer moved; returning false rolls the swap back (a conflict). */
export type SwapHook = (
  tx: Pick<PoolClient, 'query'>,
  swap: { id: TableIdentifier; expected: string; next: string },
) => Promise<boolean>;

/**
 * A PgCatalogStore whose compare-and-swap also runs `hook` in the same Postgres transaction, so bookkeeping that must
 * change exactly when a snapshot becomes current (e.g. "these pending files are now committed") cannot drift from the
 * table: after a crash either both happened or neither did.
 */
export class TransactionalPgCatalogStore extends PgCatalogStore {
  constructor(
    private readonly txPool: Pick<Pool, 'query' | 'connect'>,
    private readonly hook: SwapHook,
  ) {
    super(txPool);
  }

  override async compareAndSwap(id: TableIdentifier, expected: string, next: string): Promise<boolean> {
    validateIdentifier(id);
    const client = await this.txPool.connect();
    try {
      await client.query('BEGIN');
      if (!(await pointerRows.compareAndSwap(client, 'table', id, expected, next)) || !(await this.hook(client, { id, expected, next }))) {
        await client.query('ROLLBACK');
        return false;
      }
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

/**
 * The view → current-view-metadata-location pointer. Views share the tables' identifier space: creating a view where a
 * table is (or the reverse) fails with ViewAlreadyExistsError / TableAlreadyExistsError naming what holds the name.
 */
export interface ViewCatalogStore {
  load(id: TableIdentifier): Promise<{ metadataLocation: string } | null>;
  /** Throws IdentifierTakenError when a table or view already holds the identifier. */
  create(id: TableIdentifier, metadataLocation: string): Promise<void>;
  compareAndSwap(id: TableIdentifier, expected: string, next: string): Promise<boolean>;
  list(namespace: string[]): Promise<TableIdentifier[]>;
  drop(id: TableIdentifier): Promise<boolean>;
  /** What holds an identifier, if anything: tells "view exists" from "table exists". */
  kindOf(id: TableIdentifier): Promise<'table' | 'view' | null>;
}

/** In-process view store for unit tests (tables are not modelled: every name it does not hold is free). */
export class MemoryViewCatalogStore implements ViewCatalogStore {
  private readonly inner = new MemoryCatalogStore();
  load(id: TableIdentifier): Promise<{ metadataLocation: string } | null> {
    return this.inner.load(id);
  }
  async create(id: TableIdentifier, metadataLocation: string): Promise<void> {
    if (await this.inner.load(id)) throw new IdentifierTakenError(formatIdentifier(id), 'view');
    await this.inner.create(id, metadataLocation);
  }
  compareAndSwap(id: TableIdentifier, expected: string, next: string): Promise<boolean> {
    return this.inner.compareAndSwap(id, expected, next);
  }
  list(namespace: string[]): Promise<TableIdentifier[]> {
    return this.inner.list(namespace);
  }
  drop(id: TableIdentifier): Promise<boolean> {
    return this.inner.drop(id);
  }
  async kindOf(id: TableIdentifier): Promise<'table' | 'view' | null> {
    return (await this.inner.load(id)) ? 'view' : null;
  }
}

/** Views as rows of `iceberg_tables` with kind = 'view' (migration 014). */
export class PgViewCatalogStore extends PgEntryStore implements ViewCatalogStore {
  constructor(pool: Pick<Pool, 'query'>) {
    super(pool, 'view');
  }

  async create(id: TableIdentifier, metadataLocation: string): Promise<void> {
    if (!(await this.insert(id, metadataLocation))) throw new IdentifierTakenError(formatIdentifier(id), (await this.kindOf(id)) ?? 'view');
  }

  async kindOf(id: TableIdentifier): Promise<CatalogEntryKind | null> {
    validateIdentifier(id);
    const res = await this.pool.query<{ kind: CatalogEntryKind }>('SELECT kind FROM iceberg_tables WHERE namespace = $1 AND name = $2', [namespaceKey(id.namespace), id.name]);
    return res.rows[0]?.kind ?? null;
  }
}
