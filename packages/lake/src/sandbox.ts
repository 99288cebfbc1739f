// Runs a consumer's SELECT (already gated) over published datasets in a locked-down DuckDB: the datasets are loaded
// as tables first, then external access is switched off and the configuration locked before the untrusted SQL runs.
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
}

export interface DatasetInput {
  name: string;
  table: LoadedTable | null;
  schema: IcebergSchema;
  /** Restrict to these local Parquet files (incremental runs); all live files when omitted. */
  localFiles?: string[];
}

export interface SelectResult {
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
    const gate = await gateSelect(duck, opts.sql, { datasets: opts.knownDatasets });
    await duck.run(`SET TimeZone = 'UTC'`);
    for (const name of gate.tables) {
      const ds = opts.datasets.find((d) => d.name === name);
      if (!ds) throw new AtollError('SQL_REJECTED', `unknown dataset: ${name}`);
      const files = ds.localFiles ?? (ds.table ? await opts.lake.localCopies(await opts.lake.liveFiles(ds.table)) : []);
      if (files.length === 0) {
        await duck.run(emptyTableSql(name, ds.schema));
      } else {
        // Columns are matched by Iceberg field id, so files written before a rename or an added column read right.
        await duck.run(`CREATE TABLE ${ident(name)} AS SELECT * FROM ${duckdbReadParquet(files, ds.schema)}`);
      }
    }
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
    const [counts] = await duck.all<{ records: number; subjects: number }>('SELECT count(*)::BIGINT AS records, count(DISTINCT tid)::BIGINT AS subjects FROM result');
    const sample = await duck.all('SELECT * FROM result LIMIT 10');
    return await opts.use(duck, {
      records: Number(counts?.records ?? 0),
      distinctSubjects: Number(counts?.subjects ?? 0),
      sample,
      columns: columns.map((c) => ({ name: c.column_name, type: c.data_type })),
    });
  } finally {
    duck.close();
  }
}

/**
 * The datasets a query may use: every approved dataset, with its published table when rows have been published and
 * an empty table of the published schema otherwise (an approved dataset is known before its first rows arrive).
 */
export async function loadPublished(lake: Lake, approved: ReadonlyArray<{ name: string; columns: readonly SchemaColumn[] }>): Promise<DatasetInput[]> {
  const out: DatasetInput[] = [];
  for (const { name, columns } of approved) {
    const table = await lake.tryLoad(publishedTableId(name));
    // The table's current schema: evolution (added/renamed columns) applies to every file, old ones included.
    const schema = table ? table.metadata.schemas.find((s) => s['schema-id'] === table.metadata['current-schema-id'])! : publishedSchema(columns);
    out.push({ name, table, schema });
  }
  return out;
}
