// Runs a consumer's SELECT (already gated) over published datasets in a locked-down DuckDB. Each dataset is loaded as a
// table holding only the rows the delivery policy lets through (subjects with a live license for this consumer), so
// joins, aggregates and subqueries can never see another row; then external access is switched off and the
// configuration locked before the untrusted SQL runs.
import { AtollError } from '@atoll/errors';
import { Duck, QueryTimeoutError, gateSelect, ident, literal } from '@atoll/duck';
import { duckdbColumnType, duckdbReadParquet, type IcebergSchema, type LoadedTable } from '@atoll/iceberg';
import type { Lake } from './lake.js';
import { publishedSchema, type SchemaColumn } from './columns.js';
import { publishedTableId } from './tables.js';

export interface SandboxLimits {
  memoryLimit: string;
  threads: number;
  timeoutMs: number;
  tempDirectory: string;
  /** Longest SQL text the gate accepts. */
  maxQueryLength?: number;
  /** Most rows one result may hold (a query that explodes a join is refused, not delivered). */
  maxResultRows?: number;
}

export interface PublishedDataset {
  name: string;
  table: LoadedTable | null;
  schema: IcebergSchema;
}

/** Some local files of a dataset and the subjects whose rows they may contribute. */
export interface DatasetPart {
  files: string[];
  subjects: readonly string[];
}

export interface DatasetInput extends PublishedDataset {
  /** The delivery policy's answer: only rows of these subjects (by `tid`) reach the query. */
  subjects: readonly string[];
  /**
   * Read only these parts (incremental runs); each part is restricted to its own subjects and to `subjects`.
   * Default: every live file of the table.
   */
  parts?: DatasetPart[];
}

export interface SelectResult {
  /** Rows the datasets held after the delivery policy, before the query (the query's input). */
  inputRecords: number;
  records: number;
  distinctSubjects: number;
  sample: Record<string, unknown>[];
  columns: Array<{ name: string; type: string }>;
}

function emptyTableSql(name: string, schema: IcebergSchema): string {
  const cols = schema.fields.map((f) => `${ident(f.name)} ${duckdbColumnType(f.type)}`).join(', ');
  return `CREATE TABLE ${ident(name)} (${cols})`;
}

/** Opens a sandbox with `datasets` loaded, gates and runs `sql` into the table `result`, then calls `use`. */
export async function withSandboxedSelect<T>(opts: {
  lake: Lake;
  sql: string;
  datasets: DatasetInput[];
  knownDatasets: ReadonlySet<string>;
  limits: SandboxLimits;
  /** The one directory trusted code in `use` may write to (e.g. COPY of the result) once access is locked. */
  outputDirectory?: string;
  use: (duck: Duck, result: SelectResult) => Promise<T>;
}): Promise<T> {
  const duck = await Duck.open({ memoryLimit: opts.limits.memoryLimit, threads: opts.limits.threads, tempDirectory: opts.limits.tempDirectory });
  try {
    const gate = await gateSelect(duck, opts.sql, { datasets: opts.knownDatasets, ...(opts.limits.maxQueryLength ? { maxLength: opts.limits.maxQueryLength } : {}) });
    await duck.run(`SET TimeZone = 'UTC'`);
    for (const name of gate.tables) {
      const ds = opts.datasets.find((d) => d.name === name);
      if (!ds) throw new AtollError('SQL_REJECTED', `unknown dataset: ${name}`);
      await loadRestricted(duck, opts.lake, ds);
    }
    let inputRecords = 0;
    for (const name of gate.tables) inputRecords += Number((await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${ident(name)}`))[0]?.n ?? 0);
    // From here on the SQL is untrusted: no files (but our output directory), no network, no settings changes.
    // The gate already refuses COPY, table functions and file paths; this is the second wall.
    if (opts.outputDirectory) await duck.run(`SET allowed_directories = [${literal(opts.outputDirectory.replace(/\/?$/, '/'))}]`);
    await duck.run('SET enable_external_access = false');
    await duck.run('SET lock_configuration = true');
    try {
      await duck.withTimeout(opts.limits.timeoutMs, () => duck.run(`CREATE TEMP TABLE result AS ${opts.sql}`));
    } catch (e) {
      // Errors of the consumer's own SQL are the consumer's to fix; anything after this point is ours.
      const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      if (e instanceof QueryTimeoutError || /^(Binder|Catalog|Parser|Conversion|Invalid Input|Permission|Out of Memory|Constraint|Not implemented) Error/i.test(message)) {
        throw new AtollError('SQL_REJECTED', message);
      }
      throw e;
    }
    const columns = (await duck.all<{ column_name: string; column_type: string }>('DESCRIBE result')).map((c) => ({ column_name: c.column_name, data_type: c.column_type }));
    if (!columns.some((c) => c.column_name === 'tid')) {
      throw new AtollError('SQL_REJECTED', 'the SELECT must return the tid column (the subject pseudonym) so licenses and cohorts can be checked');
    }
    // The cohort counts subjects, so `tid` must be a subject's pseudonym from the rows the query read, not a value the
    // query made up (e.g. tid || category would inflate the count past the minimum).
    // An anti-join against the distinct subjects read (a hash join; NOT IN over the rows was twice as slow).
    const readSubjects = gate.tables.map((t) => `SELECT DISTINCT tid FROM ${ident(t)}`).join(' UNION ');
    const [made] = await duck.all<{ n: number }>(
      `SELECT (SELECT count(*) FROM result WHERE tid IS NULL) + (SELECT count(*) FROM result r ANTI JOIN (${readSubjects}) s ON CAST(r.tid AS VARCHAR) = s.tid) AS n`,
    );
    if (Number(made?.n ?? 0) > 0) {
      throw new AtollError('SQL_REJECTED', "the tid column must be the subjects' own pseudonym (the tid of a dataset row), unchanged");
    }
    const [counts] = await duck.all<{ records: number; subjects: number }>('SELECT count(*)::BIGINT AS records, count(DISTINCT tid)::BIGINT AS subjects FROM result');
    const records = Number(counts?.records ?? 0);
    if (opts.limits.maxResultRows !== undefined && records > opts.limits.maxResultRows) {
      throw new AtollError('SQL_REJECTED', `the query returns ${records} rows, more than the ${opts.limits.maxResultRows} one delivery may hold`);
    }
    const sample = await duck.all('SELECT * FROM result LIMIT 10');
    return await opts.use(duck, {
      inputRecords,
      records,
      distinctSubjects: Number(counts?.subjects ?? 0),
      sample,
      columns: columns.map((c) => ({ name: c.column_name, type: c.data_type })),
    });
  } finally {
    duck.close();
  }
}

let scratch = 0;

/** Loads a list of TIDs into a scratch table with DuckDB's appender (fast at millions of rows); returns its name. */
async function subjectsTable(duck: Duck, tids: readonly string[]): Promise<string> {
  const name = `__subjects_${scratch++}`;
  await duck.run(`CREATE TEMP TABLE ${ident(name)} (tid VARCHAR)`);
  const appender = await duck.connection.createAppender(name, 'main', 'temp');
  try {
    for (const t of tids) {
      appender.appendVarchar(t);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return name;
}

/**
 * Materialises one dataset as a table of only its licensed rows (decision 7): before the untrusted SQL runs, so it
 * sees nothing else. Files are read by Iceberg field id, so files written before a rename or an added column read right.
 */
async function loadRestricted(duck: Duck, lake: Lake, ds: DatasetInput): Promise<void> {
  const parts = ds.parts ?? (ds.table ? [{ files: await lake.localCopies(await lake.liveFiles(ds.table)), subjects: ds.subjects }] : []);
  const licensed = await subjectsTable(duck, ds.subjects);
  const selects: string[] = [];
  const scratchTables = [licensed];
  for (const part of parts) {
    if (part.files.length === 0 || part.subjects.length === 0) continue;
    let where = `tid IN (SELECT tid FROM ${ident(licensed)})`;
    if (part.subjects !== ds.subjects) {
      const own = await subjectsTable(duck, part.subjects);
      scratchTables.push(own);
      where += ` AND tid IN (SELECT tid FROM ${ident(own)})`;
    }
    selects.push(`SELECT * FROM ${duckdbReadParquet(part.files, ds.schema)} WHERE ${where}`);
  }
  if (selects.length === 0 || ds.subjects.length === 0) await duck.run(emptyTableSql(ds.name, ds.schema));
  else await duck.run(`CREATE TABLE ${ident(ds.name)} AS ${selects.join(' UNION ALL ')}`);
  // The policy's inputs leave before the consumer's SQL arrives: it cannot read who is licensed.
  for (const t of scratchTables) await duck.run(`DROP TABLE temp.${ident(t)}`);
}

/**
 * The datasets a query may use: every approved dataset, with its published table when rows have been published and
 * an empty table of the published schema otherwise (an approved dataset is known before its first rows arrive).
 */
export async function loadPublished(lake: Lake, approved: ReadonlyArray<{ name: string; columns: readonly SchemaColumn[] }>): Promise<PublishedDataset[]> {
  const out: PublishedDataset[] = [];
  for (const { name, columns } of approved) {
    const table = await lake.tryLoad(publishedTableId(name));
    // The table's current schema: evolution (added/renamed columns) applies to every file, old ones included.
    const schema = table ? table.metadata.schemas.find((s) => s['schema-id'] === table.metadata['current-schema-id'])! : publishedSchema(columns);
    out.push({ name, table, schema });
  }
  return out;
}
