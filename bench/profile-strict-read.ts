// Where the strict CSV read's time goes, in DuckDB alone (no S3, no catalog), on the ingest bench's purchases CSV:
// DuckDB's own auto-detecting COPY to Parquet beside the writer's strict sanitizing COPY (as the writer runs it, with
// common-subexpression elimination off, and with it on), alternated, same threads and memory, each in a fresh
// instance. Wall time and process CPU time (process.cpuUsage: DuckDB's threads included), which the neighbours on a
// shared machine move far less than wall time. Not part of `npm run bench`:
//   npx tsx bench/profile-strict-read.ts [megabytes=100] [threads=2] [repeats=3]
// BENCH_EXPLAIN=1 also prints EXPLAIN ANALYZE of the strict SELECT; BENCH_COLUMNS=1 the CPU time of each column's
// sanitizing expression alone (sum(hash(expr)) over the file loaded into a table, against a bare column).
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duck, ident, literal } from '@atoll/duck';
import { duckdbFieldIds } from '@atoll/iceberg';
import { rawSchema, readRelation, strictSelect, strictValue, textSources } from '@atoll/lake';
import { median } from './harness.js';
import { makeCsv, purchaseColumns } from './ingest.bench.js';

const megabytes = Number(process.argv[2] ?? 100);
const threads = Number(process.argv[3] ?? 2);
const repeats = Number(process.argv[4] ?? 3);
const dir = join(process.env.BENCH_WORK_DIR ?? tmpdir(), 'atoll-bench', `strict-read-${megabytes}`);
await mkdir(join(dir, 'tmp'), { recursive: true });
const csv = join(dir, 'input.csv');
const { rows, bytes } = await makeCsv(csv, megabytes);
const header = purchaseColumns.map((c) => c.name);
const sources = textSources(purchaseColumns);
const relation = readRelation(csv, 'csv', purchaseColumns, header);
const out = join(dir, 'out.parquet');
const strictCopy = `COPY (${strictSelect(relation, purchaseColumns, sources)}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(rawSchema(purchaseColumns))})`;
const noCse = `SET disabled_optimizers = 'common_subexpressions'`;
const variants: Array<{ name: string; setup: string[]; sql: string }> = [
  { name: 'DuckDB COPY (auto-detect)', setup: [], sql: `COPY (SELECT * FROM read_csv(${literal(csv)}, header = true)) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)` },
  { name: 'strict COPY (writer: CSE off)', setup: [noCse], sql: strictCopy },
  { name: 'strict COPY, CSE on', setup: [], sql: strictCopy },
];
const open = async (setup: string[]): Promise<Duck> => {
  const duck = await Duck.open({ threads, memoryLimit: '2GB', tempDirectory: join(dir, 'tmp') });
  await duck.run(`SET TimeZone = 'UTC'`);
  for (const s of setup) await duck.run(s);
  return duck;
};
const measure = async (fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> => {
  const t = performance.now();
  const c = process.cpuUsage();
  await fn();
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
};
process.stdout.write(`${rows} rows, ${(bytes / 2 ** 20).toFixed(1)} MiB, ${threads} threads, ${repeats} repeats\n`);
const samples = new Map(variants.map((v) => [v.name, [] as Array<{ wall: number; cpu: number }>]));
for (let i = 0; i < repeats; i++) {
  for (const v of variants) {
    const duck = await open(v.setup);
    try {
      samples.get(v.name)!.push(await measure(() => duck.run(v.sql)));
    } finally {
      duck.close();
    }
  }
}
for (const [name, s] of samples) {
  const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} s [${xs.map((x) => x.toFixed(2)).join(', ')}]`;
  process.stdout.write(`${name.padEnd(32)} wall ${fmt(s.map((x) => x.wall))}  cpu ${fmt(s.map((x) => x.cpu))}\n`);
}
if (process.env.BENCH_COLUMNS === '1') {
  const duck = await open([noCse]);
  try {
    await duck.run(`CREATE TABLE staged AS SELECT * FROM ${relation}`);
    const exprs: Array<[string, string]> = [['(bare column)', ident('user_id')], ...purchaseColumns.map((c): [string, string] => [c.name, strictValue(c, ident(c.name), sources.get(c.name) ?? 'VARCHAR')])];
    for (let i = 0; i < 2; i++) {
      for (const [name, e] of exprs) {
        const m = await measure(() => duck.all(`SELECT sum(hash(${e})) FROM staged`));
        if (i === 1) process.stdout.write(`  column ${name.padEnd(16)} cpu ${m.cpu.toFixed(3)} s\n`);
      }
    }
  } finally {
    duck.close();
  }
}
if (process.env.BENCH_EXPLAIN === '1') {
  const duck = await open([noCse]);
  try {
    const plan = await duck.all<{ explain_value: string }>(`EXPLAIN ANALYZE ${strictSelect(relation, purchaseColumns, sources)}`);
    process.stdout.write(`${plan.map((p) => p.explain_value).join('\n')}\n`);
  } finally {
    duck.close();
  }
}
await rm(dir, { recursive: true, force: true });
