// Postgres access for the control plane: one pool factory, migrations, and a transaction helper.
import pg from 'pg';

export { migrate, listMigrations, type Migration } from './migrate.js';
export type { Pool, PoolClient } from 'pg';

// int8 (bigint) and numeric come back as strings by default; counts in this schema fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * A pool that survives the server going away: a connection the server closes (a restart, a failover) emits 'error'
 * (on the pool when idle, on the client when checked out), which without a listener ends the process. pg drops the broken connection itself and the next
 * query opens a new one, so the error is only reported (`onError`, e.g. the app's logger).
 */
export function createPool(connectionString: string, opts: { max?: number; applicationName?: string; onError?: (err: Error) => void } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'atoll',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', (err) => opts.onError?.(err));
  // A connection checked out when the server goes away emits on the client instead: its query fails, the holder
  // releases it, and the pool discards it (no longer queryable). Without a listener that error ends the process too.
  pool.on('connect', (client) => client.on('error', (err) => opts.onError?.(err)));
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
export { ChangeFeed, FreshCache, CHANGES_CHANNEL, type ChangeSource, type FreshCacheOptions } from './changes.js';
