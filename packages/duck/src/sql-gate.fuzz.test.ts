// Property-based fuzzing of the SQL gate (fast-check): generated queries — ordinary SELECTs mixed with every way out
// we know (table functions, file paths, settings, engine state, more statements, comments, odd quoting) — must either be
// refused with SQL_REJECTED, or run in a locked-down DuckDB (as packages/lake's sandbox locks it) without changing a
// setting, the catalog or a file. Bounded (numRuns and a time budget); the seed is fixed and printed for replay:
// ATOLL_FUZZ_SEED=<n> npx vitest run --project unit packages/duck/src/sql-gate.fuzz.test.ts
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { allowedFunctions } from './allowed-functions.js';
import { Duck, QueryTimeoutError } from './duck.js';
import { gateSelect } from './sql-gate.js';

const seed = Number(process.env.ATOLL_FUZZ_SEED ?? 20261130);
const budget = { seed, numRuns: 400, interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false } as const;

let gate: Duck;
let sandbox: Duck;
let watched: string;
const datasets = new Set(['purchases', 'locations']);

async function snapshot(duck: Duck): Promise<string> {
  const settings = await duck.all(`SELECT name, value FROM duckdb_settings() ORDER BY name`);
  const tables = await duck.all(`SELECT database_name, schema_name, table_name FROM duckdb_tables() WHERE table_name <> 'result' ORDER BY ALL`);
  const views = await duck.all(`SELECT count(*)::INTEGER AS n FROM duckdb_views() WHERE NOT internal`);
  const dbs = await duck.all(`SELECT database_name FROM duckdb_databases() ORDER BY ALL`);
  return JSON.stringify({ settings, tables, views, dbs });
}

beforeAll(async () => {
  process.stdout.write(`sql-gate fuzz seed ${seed} (replay: ATOLL_FUZZ_SEED=${seed})\n`);
  watched = mkdtempSync(join(tmpdir(), 'atoll-gate-fuzz-'));
  gate = await Duck.open();
  sandbox = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(watched, 'spill') });
  await sandbox.run(`SET TimeZone = 'UTC'`);
  await sandbox.run(
    `CREATE TABLE purchases AS SELECT 't' || (i % 7) AS tid, (i * 1.25)::DECIMAL(10,2) AS amount, ['fuel','grocery',NULL][1 + i % 3] AS category,
       'shop ' || i AS merchant, TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ts, ['promo'] AS tags, 'DE' AS country FROM range(40) r(i)`,
  );
  await sandbox.run(`CREATE TABLE locations AS SELECT 't' || (i % 5) AS tid, 'city ' || i AS city, 'FR' AS country, i * 0.5 AS lat FROM range(20) r(i)`);
  // The sandbox's walls (packages/lake/src/sandbox.ts), with a directory we watch for files.
  await sandbox.run(`SET allowed_directories = ['${watched}/out/']`);
  await sandbox.run('SET enable_external_access = false');
  await sandbox.run('SET lock_configuration = true');
});

afterAll(() => {
  gate?.close();
  sandbox?.close();
  if (watched) rmSync(watched, { recursive: true, force: true });
});

// The query grammar: allowed and forbidden pieces side by side, so the gate's decisions are exercised both ways.
const allowed = [...allowedFunctions.keys()].filter((f) => /^[a-z_]+$/.test(f));
const forbidden = ['read_csv', 'read_parquet', 'read_text', 'glob', 'getenv', 'current_setting', 'getvariable', 'query', 'query_table', 'sleep_ms', 'repeat', 'lpad',
  'random', 'now', 'current_date', 'version', 'duckdb_settings', 'pragma_version', 'json_serialize_sql', 'load_extension', 'list_transform', 'setseed', 'nextval', 'format'];
const column = fc.constantFrom('tid', 'amount', 'category', 'merchant', 'ts', 'tags', 'country', 'city', 'lat', 'p.tid', 'l.city', 'nope', '"tid"', '*');
const literal = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }).map((d) => d.toString()),
  fc.string({ maxLength: 12 }).map((s) => `'${s.replaceAll("'", "''")}'`),
  fc.constantFrom("'/etc/passwd'", "'x.parquet'", "'s3://bucket/x'", "'http://169.254.169.254/'", 'NULL', 'TRUE', "DATE '2024-01-01'", "INTERVAL 1 DAY", '[1, 2]', "{'a': 1}"),
);
const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    column,
    literal,
    fc.tuple(fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...allowed) }, { weight: 1, arbitrary: fc.constantFrom(...forbidden) }), fc.array(tie('expr'), { maxLength: 3 })).map(
      ([f, args]) => `${f}(${args.join(', ')})`,
    ),
    fc.tuple(tie('expr'), fc.constantFrom('+', '-', '*', '/', '||', '=', '<>', '<', 'AND', 'OR', 'LIKE', '->', '->>', '::VARCHAR', 'IS NULL'), tie('expr')).map(([a, op, b]) =>
      op.startsWith('::') || op === 'IS NULL' ? `(${a})${op === 'IS NULL' ? ' IS NULL' : op}` : `(${a} ${op} ${b})`,
    ),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([c, a, b]) => `CASE WHEN ${c} THEN ${a} ELSE ${b} END`),
    fc.tuple(tie('expr')).map(([e]) => `(SELECT ${e} FROM purchases LIMIT 1)`),
    fc.tuple(tie('expr')).map(([e]) => `x -> ${e}`),
  ),
}));
const hostileSource = fc.constantFrom(
  'purchases', 'locations', 'purchases p JOIN locations l ON p.tid = l.tid', 'purchases p, locations l', "'x.parquet'", "read_csv('/etc/passwd')",
  'range(10) r(i)', 'main.purchases', 'memory.main.purchases', 'duckdb_settings()', 'information_schema.tables', 'unnest([1, 2]) u(x)', "glob('/*')",
  '(SELECT * FROM purchases) s', 'purchases AT (VERSION => 1)', 'purchases TABLESAMPLE 10%', "query_table('purchases')", 'pg_catalog.pg_tables', 'nope',
);
const source = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('purchases', 'locations', 'purchases p JOIN locations l ON p.tid = l.tid') }, { weight: 1, arbitrary: hostileSource });
const suffix = fc.constantFrom('', '', '', '', '', '', '', '', ';', '; SET threads = 8', "; COPY purchases TO '/tmp/x.csv'", ' -- comment', ' /* c */', "; ATTACH 'x.db'",
  ' LIMIT 5', ' ORDER BY 1', ' GROUP BY ALL', ' UNION ALL SELECT * FROM purchases', "; PRAGMA version", '; INSTALL httpfs', ' OFFSET 1');
const prefix = fc.constantFrom('', '', '', '', '', '', 'WITH c AS (SELECT * FROM purchases) ', 'WITH RECURSIVE r AS (SELECT 1) ', 'EXPLAIN ', 'SUMMARIZE ', 'FROM purchases ', '/* hi */ ');
const query = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(prefix, fc.array(expr, { minLength: 1, maxLength: 3 }), source, fc.option(expr), suffix).map(([pre, cols, from, where, post]) => `${pre}SELECT ${cols.join(', ')} FROM ${from}${where ? ` WHERE ${where}` : ''}${post}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom('SET enable_external_access = true', 'CALL pragma_version()', 'DESCRIBE purchases', "COPY (SELECT 1) TO 'x'", 'SELECT $1', 'PIVOT purchases ON category', 'SHOW TABLES') },
);

describe('SQL gate and sandbox (fuzzed)', () => {
  it('refuses with SQL_REJECTED, or runs locked down without touching a setting, the catalog or a file', async () => {
    const before = await snapshot(sandbox);
    const files = () => readdirSync(watched, { recursive: true }).map(String).sort();
    const filesBefore = files();
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(query, async (sql) => {
        let tables: string[];
        try {
          tables = (await gateSelect(gate, sql, { datasets })).tables;
        } catch (e) {
          // Refusals are the caller's error with a reason; anything else (a crash, a TypeError) is a gate bug.
          expect(e, sql).toBeInstanceOf(AtollError);
          expect((e as AtollError).code).toBe('SQL_REJECTED');
          expect((e as AtollError).message.length).toBeGreaterThan(20);
          refused++;
          return;
        }
        accepted++;
        expect(tables.every((t) => datasets.has(t)), sql).toBe(true);
        try {
          await sandbox.withTimeout(2_000, () => sandbox.run(`CREATE OR REPLACE TEMP TABLE result AS ${sql}`));
        } catch (e) {
          // The consumer's own mistakes are fine; the sandbox refusing a file or network access means the gate let it through.
          const message = e instanceof Error ? e.message : String(e);
          expect(message, sql).not.toMatch(/Permission Error|external access|disabled by configuration|lock_configuration|Cannot change/i);
          if (!(e instanceof QueryTimeoutError)) expect(message, sql).toMatch(/^(Binder|Catalog|Parser|Conversion|Invalid Input|Out of Memory|Not implemented|Invalid Error|Constraint|Out of Range) Error/i);
        }
        expect(await snapshot(sandbox), sql).toBe(before);
        expect(files(), sql).toEqual(filesBefore);
      }),
      budget,
    );
    process.stdout.write(`sql-gate fuzz: ${accepted} accepted and run, ${refused} refused\n`);
    expect(accepted).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(5);
  }, 60_000);
});
