// Postgres access for the control plane: one pool factory, migrations, and a transaction helper.
import pg from 'pg';

export { migrate, listMigrations, type Migration } from './migrate.js';
export type { Pool, PoolClient } from 'pg';

// int8 (bigint) and numeric come back as strings by default; counts in this schema fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

export function createPool(connectionString: string, opts: { max?: number; applicationName?: string } = {}): pg.Pool {
  return new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'atoll',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
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
