// The local stack's PostgreSQL keeps statement statistics (pg_stat_statements, preloaded by `npm run stack -- up`), so
// a profile can say which statements a path runs and how often; the app's own role reads its own statements.
import { createPool } from '@atoll/db';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { env } from './support/actors.js';

describe('the stack\'s PostgreSQL', () => {
  it('counts the app role\'s statements in pg_stat_statements', async () => {
    const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 1, applicationName: 'stack-postgres-test' });
    try {
      // A statement is known by its shape, aliases and constants aside: a fresh temporary table makes one of its own.
      const tag = `probe_${randomUUID().replaceAll('-', '')}`;
      const client = await pool.connect();
      try {
        await client.query(`CREATE TEMP TABLE ${tag} (n int)`);
        for (let i = 0; i < 3; i += 1) await client.query(`SELECT count(*) FROM ${tag}`);
      } finally {
        client.release();
      }
      const { rows } = await pool.query<{ calls: string }>(`SELECT calls FROM pg_stat_statements WHERE query = $1 AND userid = current_user::regrole`, [`SELECT count(*) FROM ${tag}`]);
      expect(rows.map((r) => Number(r.calls))).toEqual([3]);
    } finally {
      await pool.end();
    }
  });
});
