import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { Duck } from './duck.js';
import { defaultGateLimits, gateSelect, scanText, type GateOptions } from './sql-gate.js';

let duck: Duck;
let sandbox: Duck;
beforeAll(async () => {
  duck = await Duck.open();
  // Small tables named like the datasets, locked down the way packages/lake's sandbox is, to run accepted queries.
  sandbox = await Duck.open({ threads: 1, memoryLimit: '256MB' });
  await sandbox.run(`SET TimeZone = 'UTC'`);
  await sandbox.run(
    `CREATE TABLE purchases AS SELECT * FROM (VALUES
       ('t1', 12.50::DECIMAL(10,2), 'fuel', 'Super Fuel', TIMESTAMP '2024-01-03 08:00:00', ['promo', 'card'], 'DE'),
       ('t1', 140.00::DECIMAL(10,2), 'grocery', 'ABC market', TIMESTAMP '2024-01-20 18:30:00', ['card'], 'DE'),
       ('t2', 7.99::DECIMAL(10,2), 'grocery', 'corner shop', TIMESTAMP '2024-02-11 12:00:00', [], 'FR'),
       ('t3', 55.00::DECIMAL(10,2), NULL, '', TIMESTAMP '2024-03-01 09:15:00', ['promo'], 'DE')
     ) v(tid, amount, category, merchant, ts, tags, country)`,
  );
  await sandbox.run(
    `CREATE TABLE locations AS SELECT * FROM (VALUES
       ('t1', 'Berlin', 'DE', 52.52, 13.40, TIMESTAMP '2024-01-03 07:00:00'),
       ('t2', 'Paris', 'FR', 48.85, 2.35, TIMESTAMP '2024-02-11 11:00:00'),
       ('t4', 'Munich', 'DE', 48.14, 11.58, TIMESTAMP '2024-03-02 10:00:00')
     ) v(tid, city, country, lat, lon, seen_at)`,
  );
  await sandbox.run('SET enable_external_access = false');
  await sandbox.run('SET lock_configuration = true');
});
afterAll(() => {
  duck.close();
  sandbox.close();
});

const datasets = new Set(['purchases', 'locations']);

async function rejection(sql: string, extra: Partial<GateOptions> = {}): Promise<string> {
  try {
    await gateSelect(duck, sql, { datasets, ...extra });
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    expect((e as AtollError).code).toBe('SQL_REJECTED');
    return (e as Error).message;
  }
  throw new Error(`accepted: ${sql}`);
}

// Realistic consumer queries: the gate accepts each and names the datasets it reads.
const P = ['purchases'];
const L = ['locations'];
const PL = ['locations', 'purchases'];
const ordinary: Array<[string, string[]]> = [
  ['SELECT tid, amount FROM purchases WHERE amount > 10', P],
  ["SELECT tid, amount FROM purchases WHERE amount BETWEEN 10 AND 100 AND ts >= TIMESTAMP '2024-01-01' AND ts < TIMESTAMP '2024-02-01'", P],
  ["SELECT tid FROM purchases WHERE category IN ('grocery', 'fuel') AND country NOT IN ('XX')", P],
  ["SELECT tid, merchant FROM purchases WHERE merchant LIKE 'Super%' OR merchant ILIKE '%MARKET'", P],
  ["SELECT tid FROM purchases WHERE merchant NOT LIKE '%test%' AND merchant NOT ILIKE 'x%' AND category IS NOT NULL", P],
  ["SELECT tid, date_trunc('month', ts) AS month, sum(amount) AS spent FROM purchases GROUP BY tid, month", P],
  ["SELECT tid, date_trunc('week', ts) AS week, count(*) AS n FROM purchases GROUP BY ALL HAVING count(*) >= 1", P],
  ["SELECT p.tid, p.amount, l.city FROM purchases p JOIN locations l ON p.tid = l.tid WHERE l.country = 'DE'", PL],
  ['SELECT tid, city FROM purchases JOIN locations USING (tid)', PL],
  ['SELECT p.tid FROM purchases p LEFT JOIN locations l ON l.tid = p.tid WHERE l.tid IS NULL', PL],
  ["WITH monthly AS (SELECT tid, date_trunc('month', ts) AS m, sum(amount) AS s FROM purchases GROUP BY ALL) SELECT tid, avg(s) AS avg_monthly FROM monthly GROUP BY tid", P],
  ["SELECT tid FROM purchases WHERE tid IN (SELECT tid FROM locations WHERE city = 'Berlin')", PL],
  ["SELECT tid FROM purchases p WHERE EXISTS (SELECT 1 FROM locations l WHERE l.tid = p.tid AND l.country = 'FR')", PL],
  ['SELECT tid, total FROM (SELECT tid, sum(amount) AS total FROM purchases GROUP BY tid) t WHERE total > 100', P],
  ['SELECT tid, amount, row_number() OVER (PARTITION BY tid ORDER BY ts DESC) AS rn FROM purchases', P],
  ['SELECT tid, ts, amount - lag(amount) OVER (PARTITION BY tid ORDER BY ts) AS delta FROM purchases', P],
  ['SELECT tid, rank() OVER (ORDER BY amount DESC) AS r, dense_rank() OVER (ORDER BY amount DESC) AS dr, ntile(4) OVER (ORDER BY amount) AS quartile FROM purchases', P],
  [
    'SELECT tid, percent_rank() OVER w AS pr, cume_dist() OVER w AS cd, first_value(amount) OVER w AS first_amount, last_value(amount) OVER w AS last_amount, lead(amount, 1, 0) OVER w AS next_amount FROM purchases WINDOW w AS (PARTITION BY tid ORDER BY ts)',
    P,
  ],
  ['SELECT tid, sum(amount) OVER (PARTITION BY tid ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS rolling, count(*) OVER () AS everyone FROM purchases', P],
  ['SELECT tid, amount FROM purchases QUALIFY row_number() OVER (PARTITION BY tid ORDER BY amount DESC) = 1', P],
  ["SELECT tid, CASE WHEN amount >= 100 THEN 'high' WHEN amount >= 20 THEN 'mid' ELSE 'low' END AS band FROM purchases", P],
  ['SELECT tid, CAST(amount AS INTEGER) AS whole, amount::VARCHAR AS text, TRY_CAST(category AS INTEGER) AS cat_no FROM purchases', P],
  ["SELECT DISTINCT tid FROM purchases WHERE category = 'fuel'", P],
  ['SELECT tid, amount FROM purchases ORDER BY amount DESC NULLS LAST LIMIT 10 OFFSET 1', P],
  ['SELECT tid, count(DISTINCT category) AS categories FROM purchases GROUP BY tid HAVING count(DISTINCT category) > 1 ORDER BY categories DESC', P],
  ["SELECT tid, 'purchase' AS source FROM purchases UNION SELECT tid, 'location' FROM locations", PL],
  ['SELECT tid FROM purchases UNION ALL SELECT tid FROM locations', PL],
  ['SELECT tid FROM purchases INTERSECT SELECT tid FROM locations', PL],
  ['SELECT tid FROM purchases EXCEPT SELECT tid FROM locations', PL],
  ["SELECT tid, extract(year FROM ts) AS y, date_part('month', ts) AS m, dayname(ts) AS d, strftime(ts, '%Y-%m') AS ym FROM purchases", P],
  ["SELECT tid, coalesce(category, 'unknown') AS category, nullif(merchant, '') AS merchant, if(amount > 0, 'debit', 'credit') AS kind FROM purchases", P],
  ['SELECT tid, lower(trim(merchant)) AS m, upper(substring(category, 1, 3)) AS c3, length(merchant) AS len, concat(city, \', \', country) AS place FROM locations JOIN purchases USING (tid, country)', PL],
  ["SELECT tid, replace(merchant, 'Inc', '') AS m, merchant || ' / ' || category AS label, starts_with(merchant, 'A') AS a, contains(merchant, 'shop') AS shop FROM purchases", P],
  ["SELECT tid FROM purchases WHERE regexp_matches(merchant, '^[A-Z]{3}') OR merchant ~ 'S.*'", P],
  ['SELECT tid, median(amount) AS med, quantile_cont(amount, 0.9) AS p90, stddev(amount) AS sd, var_samp(amount) AS v FROM purchases GROUP BY tid', P],
  [
    "SELECT tid, approx_count_distinct(merchant) AS merchants, bool_and(amount > 0) AS all_pos, bool_or(category = 'fuel') AS any_fuel, string_agg(DISTINCT category, ',') AS cats, list(amount ORDER BY ts) AS amounts FROM purchases GROUP BY tid",
    P,
  ],
  ['SELECT tid, arg_max(merchant, amount) AS top_merchant, arg_min(merchant, ts) AS first_merchant, min(ts) AS first_ts, max(ts) AS last_ts FROM purchases GROUP BY tid', P],
  ["SELECT tid, count(*) FILTER (WHERE category = 'fuel') AS fuel, count(*) AS n, avg(amount) AS avg FROM purchases GROUP BY tid", P],
  ["SELECT tid, date_diff('day', min(ts), max(ts)) AS span_days, age(max(ts), min(ts)) AS span, epoch(max(ts)) AS last_epoch FROM purchases GROUP BY tid", P],
  ['SELECT tid FROM purchases WHERE ts >= make_timestamp(2024, 1, 1, 0, 0, 0) AND ts::DATE < make_date(2024, 3, 1)', P],
  ["SELECT tid FROM purchases WHERE ts >= TIMESTAMP '2024-01-01' + INTERVAL 30 DAY AND ts < TIMESTAMP '2024-12-31' - INTERVAL '1 month'", P],
  ['SELECT tid, round(lat, 2) AS lat, round(lon, 2) AS lon FROM locations WHERE abs(lat) < 60 AND city IS NOT NULL', L],
  ["SELECT tid, tags[1] AS first_tag, len(tags) AS n_tags FROM purchases WHERE list_contains(tags, 'promo')", P],
  ["WITH a AS (SELECT tid FROM purchases WHERE amount > 50), b AS (SELECT tid FROM locations WHERE country = 'DE') SELECT tid FROM a INTERSECT SELECT tid FROM b", PL],
  ['SELECT * EXCLUDE (merchant) FROM purchases WHERE amount > 0', P],
  ['FROM purchases SELECT tid, amount WHERE amount > 1', P],
  ['SELECT tid, amount FROM purchases USING SAMPLE 50% (bernoulli, 42)', P],
  ['WITH purchases AS (SELECT * FROM locations) SELECT tid FROM purchases', L],
  ['SELECT tid, greatest(amount, 0) AS pos, least(amount, 100) AS capped, CAST(amount AS BIGINT) % 10 AS rem, CAST(amount AS BIGINT) // 10 AS tens FROM purchases', P],
  ["SELECT tid, CASE category WHEN 'fuel' THEN 1 ELSE 0 END AS is_fuel FROM purchases WHERE ts::DATE BETWEEN DATE '2024-01-01' AND DATE '2024-12-31'", P],
  ["SELECT p.tid, count(*) AS visits FROM purchases p JOIN locations l ON p.tid = l.tid AND date_trunc('day', p.ts) = date_trunc('day', l.seen_at) GROUP BY p.tid", PL],
  ['SELECT tid, amount FROM purchases WHERE amount > (SELECT avg(amount) FROM purchases)', P],
  ["SELECT tid, city FROM locations WHERE city SIMILAR TO 'Ber.*' OR city GLOB 'Mu*'", L],
  ["SELECT tid FROM Purchases -- only the fuel ones (a comment with a ( bracket\nWHERE category = 'fuel'", P],
  ["SELECT tid, split_part(merchant, ' ', 1) AS first_word, left(merchant, 3) AS l3, right(tid, 1) AS r1 FROM purchases", P],
  ['SELECT tid, amount FROM purchases ORDER BY ALL', P],
  ['SELECT max(COLUMNS(*)) FROM purchases', P],
  ['SELECT tid, nth_value(amount, 2) OVER (ORDER BY ts) AS second, first(amount) OVER (PARTITION BY tid) AS first_amount FROM purchases', P],
  ['SELECT tid, quantile_cont(amount, 0.5) AS med FROM purchases GROUP BY tid UNION BY NAME SELECT tid, NULL AS med FROM locations', PL],
  ["SELECT tid, time_bucket(INTERVAL '1 week', ts) AS wk, year(ts) AS y, month(ts) AS mo, quarter(ts) AS q FROM purchases", P],
];

// Forbidden SQL: each is refused with SQL_REJECTED and a reason that names what was refused.
const forbidden: Array<[string, RegExp]> = [
  // Reading outside the datasets
  ["SELECT getvariable('secret') AS v, tid FROM purchases", /function getvariable is not allowed/],
  ["SELECT current_setting('s3_secret_access_key'), tid FROM purchases", /function current_setting is not allowed: it reads the engine/],
  ["SELECT getenv('HOME'), tid FROM purchases", /function getenv is not allowed: it reaches outside/],
  ["SELECT read_text('/etc/hosts') FROM purchases", /function read_text is not allowed: it reaches outside/],
  ["SELECT * FROM read_csv('/etc/passwd')", /table functions are not allowed: read_csv/],
  ["SELECT * FROM read_parquet('s3://lake/x.parquet')", /table functions are not allowed: read_parquet/],
  ["SELECT * FROM read_blob('/etc/shadow')", /table functions are not allowed: read_blob/],
  ["SELECT * FROM glob('/*')", /table functions are not allowed: glob/],
  ["SELECT glob('/*'), tid FROM purchases", /function glob is not allowed/],
  ['SELECT * FROM duckdb_settings()', /table functions are not allowed: duckdb_settings/],
  ['SELECT duckdb_secrets(), tid FROM purchases', /function duckdb_secrets is not allowed/],
  ["SELECT * FROM pragma_table_info('purchases')", /table functions are not allowed: pragma_table_info/],
  ["SELECT * FROM query('SELECT * FROM purchases')", /table functions are not allowed: query$/],
  ["SELECT * FROM query_table('purchases')", /table functions are not allowed: query_table/],
  ["SELECT query('SELECT 1'), tid FROM purchases", /function query is not allowed/],
  ["SELECT load_extension('httpfs'), tid FROM purchases", /function load_extension is not allowed/],
  ["SELECT json_serialize_sql('SELECT 1'), tid FROM purchases", /function json_serialize_sql is not allowed: it reaches outside/],
  ["SELECT json_deserialize_sql('{}'), tid FROM purchases", /function json_deserialize_sql is not allowed/],
  ["SELECT * FROM json_execute_serialized_sql('{}')", /table functions are not allowed: json_execute_serialized_sql/],
  ['SELECT current_database(), tid FROM purchases', /function current_database is not allowed: it reads the engine/],
  ['SELECT current_schema(), tid FROM purchases', /function current_schema is not allowed/],
  ['SELECT current_schema, tid FROM purchases', /function current_schema is not allowed/],
  ['SELECT "current_catalog", tid FROM purchases', /function current_catalog is not allowed/],
  ['SELECT user, tid FROM purchases', /function user is not allowed/],
  ['SELECT version(), tid FROM purchases', /function version is not allowed/],
  // Non-deterministic: a retried run would select different rows
  ['SELECT tid, random() AS r FROM purchases', /function random is not allowed: .*repeated or retried run/],
  ['SELECT tid, uuid() AS u FROM purchases', /function uuid is not allowed: .*repeated or retried run/],
  ['SELECT tid, gen_random_uuid() AS u FROM purchases', /function gen_random_uuid is not allowed: .*repeated or retried run/],
  ['SELECT setseed(0.5), tid FROM purchases', /function setseed is not allowed/],
  ["SELECT nextval('s'), tid FROM purchases", /function nextval is not allowed/],
  ["SELECT currval('s'), tid FROM purchases", /function currval is not allowed/],
  ["SELECT tid FROM purchases WHERE ts > now() - INTERVAL 30 DAY", /function now is not allowed: .*clock/],
  ['SELECT tid FROM purchases WHERE ts::DATE = current_date', /function current_date is not allowed: .*clock/],
  ['SELECT tid FROM purchases WHERE ts::DATE = today()', /function today is not allowed/],
  ['SELECT tid, age(ts) FROM purchases', /function age with 1 argument is not allowed: it measures from the current date/],
  ['SELECT tid FROM purchases ORDER BY random() LIMIT 10', /function random is not allowed/],
  ['SELECT * FROM purchases USING SAMPLE 10%', /SAMPLE .*without REPEATABLE/],
  ['SELECT * FROM purchases TABLESAMPLE 5', /SAMPLE .*without REPEATABLE/],
  ['SELECT * FROM (SELECT * FROM purchases USING SAMPLE 3 ROWS) s', /SAMPLE .*without REPEATABLE/],
  // Stalling
  ['SELECT sleep_ms(100000), tid FROM purchases', /function sleep_ms is not allowed: it only makes the run wait/],
  ['SELECT pg_sleep(100), tid FROM purchases', /function pg_sleep is not allowed/],
  // Values of any requested size, allocated outside DuckDB's memory limit
  ["SELECT lpad(tid, 2000000000, 'x') FROM purchases", /function lpad is not allowed: it builds a value of any requested size/],
  ["SELECT tid, format('{:>2000000000}', tid) FROM purchases", /function format is not allowed: it builds a value/],
  ["SELECT tid, repeat('x', 2000000000) FROM purchases", /function repeat is not allowed: it builds a value/],
  // Things the gate cannot see through
  ['SELECT list_transform(tags, x -> upper(x)), tid FROM purchases', /function list_transform is not allowed/],
  ["SELECT list_aggregate(tags, 'count'), tid FROM purchases", /function list_aggregate is not allowed/],
  ['SELECT list_value(x -> x), tid FROM purchases', /lambda expressions/],
  ["SELECT merchant -> '$.a', tid FROM purchases", /lambda expressions .*JSON/],
  ["SELECT merchant ->> '$.a', tid FROM purchases", /function ->> is not allowed/],
  ["SELECT COLUMNS('amount|tid') FROM purchases", /COLUMNS\(…\) with a pattern or expression/],
  ["SELECT max(COLUMNS(['amount'])) FROM purchases", /COLUMNS\(…\) with a pattern or expression/],
  ["SELECT COLUMNS(c -> c LIKE 't%') FROM purchases", /COLUMNS\(…\) with a pattern or expression/],
  ["SELECT *COLUMNS('t.*') FROM purchases", /COLUMNS\(…\)/],
  ['SELECT tid.upper() FROM purchases', /qualified function name tid\.upper is not allowed; call upper/],
  ['SELECT row_number(), tid FROM purchases', /row_number is a window function and needs OVER/],
  ['SELECT lower(tid) OVER (), tid FROM purchases', /function lower is not allowed with OVER/],
  ['SELECT sum(amount) EXPORT_STATE, tid FROM purchases GROUP BY tid', /EXPORT_STATE/],
  ['SELECT error(tid) FROM purchases', /function error is not allowed/],
  ['SELECT system.main.getvariable(\'x\'), tid FROM purchases', /qualified function name system\.main\.getvariable/],
  ['SELECT pg_catalog.lower(tid) FROM purchases', /qualified function name pg_catalog\.lower/],
  ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT tid FROM purchases, r', /recursive CTEs/],
  ['SUMMARIZE purchases', /SUMMARIZE, DESCRIBE and SHOW/],
  ['DESCRIBE purchases', /SUMMARIZE, DESCRIBE and SHOW/],
  ['SHOW TABLES', /SUMMARIZE, DESCRIBE and SHOW/],
  ["SELECT * FROM purchases PIVOT (sum(amount) FOR category IN ('fuel', 'grocery'))", /PIVOT and UNPIVOT/],
  ['SELECT * FROM purchases UNPIVOT (v FOR k IN (merchant, category))', /PIVOT and UNPIVOT/],
  ['PIVOT purchases ON category USING sum(amount)', /only a SELECT statement is allowed, not PIVOT/],
  ['SELECT * FROM purchases AT (VERSION => 1)', /time travel/],
  ['SELECT DEFAULT FROM purchases', /DEFAULT/],
  // Tables: replacement scans, table functions, qualified names, unknown datasets
  ["SELECT * FROM 'purchases'", /a quoted string as a table name \('purchases'\)/],
  ["SELECT * FROM 'x.parquet'", /file paths are not allowed: x\.parquet/],
  ["SELECT * FROM '/etc/passwd.csv'", /file paths are not allowed/],
  ['SELECT * FROM "data/export.csv"', /file paths are not allowed/],
  ['SELECT * FROM range(10)', /table functions are not allowed: range/],
  ['SELECT * FROM generate_series(1, 3)', /table functions are not allowed: generate_series/],
  ['SELECT tid, x FROM purchases, unnest([1, 2]) u(x)', /table functions are not allowed: unnest/],
  ['SELECT * FROM main.purchases', /qualified name main\.purchases/],
  ['SELECT * FROM memory.main.purchases', /qualified name memory\.main\.purchases/],
  ['SELECT * FROM x.y.z', /qualified name x\.y\.z/],
  ['SELECT * FROM information_schema.tables', /qualified name information_schema\.tables/],
  ['SELECT * FROM duckdb_tables', /unknown dataset: duckdb_tables/],
  ['SELECT * FROM secrets', /unknown dataset: secrets/],
  ['SELECT 42', /no published dataset/],
  ['SELECT * FROM (VALUES (1)) v(tid)', /no published dataset/],
  // Statements other than one SELECT
  ['PRAGMA version', /only a SELECT statement is allowed, not PRAGMA/],
  ["SET memory_limit = '64GB'", /only a SELECT statement is allowed, not SET/],
  ['SET VARIABLE x = 1', /only a SELECT statement is allowed, not SET/],
  ["ATTACH 'x.db'", /only a SELECT statement is allowed, not ATTACH/],
  ["COPY purchases TO '/tmp/x.csv'", /only a SELECT statement is allowed, not COPY/],
  ["EXPORT DATABASE '/tmp/x'", /only a SELECT statement is allowed, not EXPORT/],
  ['INSTALL httpfs', /only a SELECT statement is allowed, not INSTALL/],
  ['LOAD httpfs', /only a SELECT statement is allowed, not LOAD/],
  ['CALL pragma_version()', /only a SELECT statement is allowed, not CALL/],
  ['CREATE TABLE x AS SELECT * FROM purchases', /only a SELECT statement is allowed, not CREATE/],
  ['CREATE MACRO leak() AS getvariable(\'x\')', /only a SELECT statement is allowed, not CREATE/],
  ["INSERT INTO purchases VALUES ('t9')", /only a SELECT statement is allowed, not INSERT/],
  ['DELETE FROM purchases', /only a SELECT statement is allowed, not DELETE/],
  ['EXPLAIN SELECT * FROM purchases', /only a SELECT statement is allowed, not EXPLAIN/],
  ['/* hi */ (SELECT tid FROM purchases); DROP TABLE purchases', /only a SELECT statement is allowed/],
  ['SELECT tid FROM purchases; SELECT tid FROM locations', /exactly one SELECT statement is allowed, found 2/],
  ['SELECT tid INTO x FROM purchases', /does not parse/],
  ['SELEC tid FROM purchases', /does not parse/],
  ['', /empty/],
  ['   \n ', /empty/],
  // Prepared-statement parameters
  ['SELECT tid FROM purchases WHERE amount > $1', /prepared-statement parameters/],
  ['SELECT tid FROM purchases WHERE amount > ?', /prepared-statement parameters/],
  ['SELECT tid FROM purchases WHERE category IN $cats', /prepared-statement parameters/],
];

describe('gateSelect', () => {
  it(`accepts ${ordinary.length} ordinary consumer queries and names the datasets each reads`, async () => {
    expect(ordinary.length).toBeGreaterThanOrEqual(40);
    for (const [sql, tables] of ordinary) {
      expect(await gateSelect(duck, sql, { datasets }), sql).toEqual({ tables });
    }
  });

  it('runs every accepted query over small tables in a locked-down DuckDB, as the sandbox would', async () => {
    for (const [sql] of ordinary) {
      await expect(sandbox.run(`CREATE OR REPLACE TEMP TABLE result AS ${sql}`), sql).resolves.toBeUndefined();
    }
    // The rows are the ones the SQL means: the join on tid keeps the two subjects seen in both datasets.
    const rows = await sandbox.all<{ tid: string }>('SELECT DISTINCT tid FROM purchases JOIN locations USING (tid) ORDER BY tid');
    expect(rows.map((r) => r.tid)).toEqual(['t1', 't2']);
  });

  it(`refuses ${forbidden.length} forbidden queries with a reason that names what was refused`, async () => {
    for (const [sql, reason] of forbidden) {
      expect(await rejection(sql), sql).toMatch(reason);
    }
  });

  it('keeps the dataset list lower-cased and deduplicated, and CTE names are not datasets', async () => {
    const r = await gateSelect(
      duck,
      'WITH big AS (SELECT * FROM Purchases WHERE amount > 100) SELECT b.tid, l.city FROM big b JOIN LOCATIONS l USING (tid) WHERE l.tid IN (SELECT tid FROM purchases)',
      { datasets },
    );
    expect(r.tables).toEqual(['locations', 'purchases']);
    expect(await rejection('WITH big AS (SELECT 1 AS tid) SELECT * FROM big')).toMatch(/no published dataset/);
    // A CTE is only in scope where it is defined: outside its subquery the name is an unknown dataset.
    expect(await rejection('SELECT * FROM (WITH c AS (SELECT * FROM purchases) SELECT * FROM c) x JOIN c USING (tid)')).toMatch(/unknown dataset: c/);
  });

  it('a SAMPLE with a fixed seed is repeatable and allowed', async () => {
    expect(await gateSelect(duck, 'SELECT tid FROM purchases TABLESAMPLE RESERVOIR(10 ROWS) REPEATABLE (7)', { datasets })).toEqual({ tables: P });
  });

  it('a dataset column named like a SQL value function is read qualified', async () => {
    const withUser = new Set(['accounts']);
    expect(await gateSelect(duck, 'SELECT a.user, a.tid FROM accounts a', { datasets: withUser })).toEqual({ tables: ['accounts'] });
  });
});

describe('gateSelect limits', () => {
  it('exports its defaults', () => {
    expect(defaultGateLimits).toEqual({ maxLength: 20_000, maxDepth: 100, maxNodes: 10_000 });
    expect(Object.isFrozen(defaultGateLimits)).toBe(true);
  });

  it('refuses 10,000 nested parentheses quickly and cleanly', async () => {
    for (const sql of [
      `SELECT ${'('.repeat(10_000)}tid${')'.repeat(10_000)} FROM purchases`,
      `SELECT tid FROM ${'(SELECT * FROM '.repeat(10_000)}purchases${') x'.repeat(10_000)}`,
      `SELECT ${'abs('.repeat(10_000)}amount${')'.repeat(10_000)}, tid FROM purchases`,
    ]) {
      const started = performance.now();
      expect(await rejection(sql, { maxLength: 1_000_000 })).toMatch(/nests brackets deeper than 100 levels/);
      expect(performance.now() - started).toBeLessThan(1000);
    }
    // Within the default length the same attack is cut off by length first.
    expect(await rejection(`SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)} FROM purchases`)).toMatch(/longer than 20000 characters/);
  });

  it('refuses deep expressions without brackets by AST depth, and deeper ones by the parser, cleanly', async () => {
    // 500 additions: no brackets, but the AST is 500 levels deep.
    expect(await rejection(`SELECT tid, amount${' + 1'.repeat(500)} FROM purchases`)).toMatch(/nested too deeply \(more than 100 levels\)/);
    // 5,000 additions exceed DuckDB's own expression depth; 5,000 NOTs its parser stack.
    expect(await rejection(`SELECT tid, amount${' + 1'.repeat(5_000)} FROM purchases`, { maxLength: 100_000 })).toMatch(/nested too deeply/);
    expect(await rejection(`SELECT tid FROM purchases WHERE ${'NOT '.repeat(20_000)}true`, { maxLength: 100_000 })).toMatch(/nested too deeply/);
    // 50 additions are fine by default and can be refused by a stricter limit.
    const fifty = `SELECT tid, amount${' + 1'.repeat(50)} FROM purchases`;
    expect(await gateSelect(duck, fifty, { datasets })).toEqual({ tables: P });
    expect(await rejection(fifty, { maxDepth: 20 })).toMatch(/nested too deeply \(more than 20 levels\)/);
  });

  it('refuses too many AST nodes and too long text, with configurable limits', async () => {
    const inList = `SELECT tid FROM purchases WHERE amount IN (${Array.from({ length: 300 }, (_, i) => i).join(', ')})`;
    expect(await gateSelect(duck, inList, { datasets })).toEqual({ tables: P });
    expect(await rejection(inList, { maxNodes: 100 })).toMatch(/more than 100 syntax nodes/);
    expect(await rejection(`SELECT tid FROM purchases WHERE merchant = '${'x'.repeat(20_001)}'`)).toMatch(/longer than 20000 characters/);
    expect(await rejection('SELECT tid FROM purchases', { maxLength: 10 })).toMatch(/longer than 10 characters/);
    const deepJoin = 'SELECT p.tid FROM purchases p JOIN locations l USING (tid) WHERE p.amount > (SELECT avg(amount) FROM purchases)';
    expect(await rejection(deepJoin, { maxDepth: 3 })).toMatch(/nested too deeply \(more than 3 levels\)/);
  });
});

describe('scanText', () => {
  it('counts brackets outside strings, quoted names and comments, and finds the first keyword', () => {
    expect(scanText("/* ((( */ -- (((\n  pragma x('((((', \"(((\", $$((($$, $t$(((($t$, E'\\'(((')")).toEqual({ maxNesting: 1, firstWord: 'pragma' });
    expect(scanText('SELECT [[1]], {a: (2)} FROM t')).toEqual({ maxNesting: 2, firstWord: 'SELECT' });
    expect(scanText('/* outer /* inner */ still comment ( */ ((x))')).toEqual({ maxNesting: 2, firstWord: 'x' });
  });
});
