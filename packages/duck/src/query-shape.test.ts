import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from './duck.js';
import { queryShape } from './query-shape.js';

let duck: Duck;
beforeAll(async () => {
  duck = await Duck.open({ memoryLimit: '64MB', threads: 1 });
});
afterAll(() => duck.close());

describe('queryShape', () => {
  it.each([
    'SELECT tid, amount FROM p WHERE amount > 20',
    'SELECT * FROM p',
    "SELECT tid, lower(category) AS c, amount * 2 AS twice FROM p WHERE category IN ('books', 'travel') ORDER BY amount",
    "SELECT tid, CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size FROM p WHERE purchased_at >= TIMESTAMP '2026-01-01'",
  ])('row-wise: %s', async (sql) => {
    expect(await queryShape(duck, sql)).toBe('rowwise');
  });

  it.each([
    'SELECT tid, count(*) AS n FROM p GROUP BY tid',
    'SELECT tid, sum(amount) AS s FROM p GROUP BY ALL',
    'SELECT DISTINCT tid, category FROM p',
    'SELECT tid, amount FROM p LIMIT 10',
    'SELECT p.tid, q.kind FROM p JOIN q ON p.tid = q.tid',
    'SELECT tid FROM p WHERE amount > (SELECT avg(amount) FROM p)',
    'SELECT tid, row_number() OVER (PARTITION BY tid ORDER BY amount) AS r FROM p',
    'WITH x AS (SELECT * FROM p) SELECT * FROM x',
    'SELECT tid FROM p UNION SELECT tid FROM q',
    'SELECT tid, max(amount) FROM p',
    'SELECT * FROM (SELECT tid FROM p) s',
  ])('recomputed: %s', async (sql) => {
    expect(await queryShape(duck, sql)).toBe('recompute');
  });
});
