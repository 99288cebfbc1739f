import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { Duck } from './duck.js';
import { gateSelect } from './sql-gate.js';

let duck: Duck;
beforeAll(async () => {
  duck = await Duck.open();
});
afterAll(() => duck.close());

const datasets = new Set(['purchases', 'locations']);

async function rejection(sql: string): Promise<string> {
  try {
    await gateSelect(duck, sql, { datasets });
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    expect((e as AtollError).code).toBe('SQL_REJECTED');
    return (e as Error).message;
  }
  throw new Error(`accepted: ${sql}`);
}

describe('gateSelect', () => {
  it('accepts one SELECT over published datasets, with joins, CTEs and subqueries', async () => {
    expect(await gateSelect(duck, 'SELECT tid, amount FROM purchases WHERE amount > 10', { datasets })).toEqual({ tables: ['purchases'] });
    const r = await gateSelect(
      duck,
      'WITH big AS (SELECT * FROM Purchases WHERE amount > 100) SELECT b.tid, l.city FROM big b JOIN locations l USING (tid) WHERE l.tid IN (SELECT tid FROM purchases)',
      { datasets },
    );
    expect(r.tables).toEqual(['locations', 'purchases']);
  });

  it('rejects anything that is not exactly one SELECT', async () => {
    expect(await rejection('DELETE FROM purchases')).toMatch(/only a SELECT/);
    expect(await rejection("COPY purchases TO '/tmp/x.csv'")).toMatch(/only a SELECT/);
    expect(await rejection('SELECT 1 FROM purchases; SELECT 2 FROM purchases')).toMatch(/exactly one/);
    expect(await rejection('SELEC tid FROM purchases')).toMatch(/does not parse/);
    expect(await rejection('')).toMatch(/empty/);
    expect(await rejection("ATTACH 'x.db'")).toMatch(/only a SELECT/);
  });

  it('rejects unknown datasets, file paths, table functions and dangerous functions', async () => {
    expect(await rejection('SELECT * FROM secrets')).toMatch(/unknown dataset: secrets/);
    expect(await rejection("SELECT * FROM '/etc/passwd.csv'")).toMatch(/file paths/);
    expect(await rejection("SELECT * FROM read_csv('/etc/passwd')")).toMatch(/table functions/);
    expect(await rejection("SELECT getenv('HOME') FROM purchases")).toMatch(/getenv/);
    expect(await rejection('SELECT * FROM main.purchases')).toMatch(/qualified/);
    expect(await rejection('SELECT 42')).toMatch(/no published dataset/);
    expect(await rejection("SELECT read_text('/etc/hosts') FROM purchases")).toMatch(/read_text/);
  });
});
