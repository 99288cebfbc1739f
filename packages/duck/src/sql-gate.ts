// The parser gate for untrusted consumer SQL (decision 6): DuckDB's own parser turns the text into an AST; we accept
// exactly one SELECT that reads only published datasets and calls no table functions or file-reading functions.
import { AtollError } from '@atoll/errors';
import type { Duck } from './duck.js';

export interface GateResult {
  /** Published datasets the query reads, lower-cased, deduplicated. */
  tables: string[];
}

// Scalar functions that reach outside the query's data or the engine's configuration.
const forbiddenFunctions = new Set([
  'getenv',
  'current_setting',
  'read_text',
  'read_blob',
  'glob',
  'duckdb_secrets',
  'duckdb_settings',
  'duckdb_extensions',
  'load_extension',
  'install_extension',
  'query',
  'query_table',
  'sql_auto_complete',
  'which_secret',
  'json_serialize_sql',
  'json_deserialize_sql',
  'json_execute_serialized_sql',
]);

type Node = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function walk(value: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit);
  } else if (value && typeof value === 'object') {
    visit(value as Node);
    for (const v of Object.values(value)) walk(v, visit);
  }
}

export async function gateSelect(duck: Duck, sql: string, opts: { datasets: ReadonlySet<string>; maxLength?: number }): Promise<GateResult> {
  const maxLength = opts.maxLength ?? 20_000;
  if (typeof sql !== 'string' || sql.trim() === '') throw new AtollError('SQL_REJECTED', 'the query is empty');
  if (sql.length > maxLength) throw new AtollError('SQL_REJECTED', `the query is longer than ${maxLength} characters`);
  const [row] = await duck.all<{ ast: string }>('SELECT json_serialize_sql($1::VARCHAR) AS ast', [sql]);
  const ast = JSON.parse(row?.ast ?? '{}') as { error?: boolean; error_message?: string; statements?: Node[] };
  if (ast.error) {
    const msg = ast.error_message ?? 'unparseable';
    if (/Only SELECT statements/i.test(msg)) throw new AtollError('SQL_REJECTED', 'only a SELECT statement is allowed');
    throw new AtollError('SQL_REJECTED', `it does not parse: ${msg.split('\n')[0]}`);
  }
  const statements = ast.statements ?? [];
  if (statements.length !== 1) throw new AtollError('SQL_REJECTED', `exactly one SELECT statement is allowed, found ${statements.length}`);

  const cteNames = new Set<string>();
  walk(statements, (node) => {
    const map = (node.cte_map as { map?: Array<{ key?: string }> } | undefined)?.map;
    if (Array.isArray(map)) for (const e of map) if (typeof e.key === 'string') cteNames.add(e.key.toLowerCase());
  });

  const tables = new Set<string>();
  walk(statements, (node) => {
    if (node.type === 'TABLE_FUNCTION') {
      throw new AtollError('SQL_REJECTED', 'table functions are not allowed');
    }
    if (node.type === 'BASE_TABLE') {
      const name = str(node.table_name);
      const schema = str(node.schema_name);
      const catalog = str(node.catalog_name);
      if (catalog !== '' || schema !== '') throw new AtollError('SQL_REJECTED', `qualified name ${[catalog, schema, name].filter(Boolean).join('.')} is not allowed; use the dataset name`);
      if (/[/\\:]|\.(csv|parquet|json|ndjson|tsv|txt|gz)$/i.test(name)) throw new AtollError('SQL_REJECTED', `file paths are not allowed: ${name}`);
      const lower = name.toLowerCase();
      if (cteNames.has(lower)) return;
      if (!opts.datasets.has(lower)) throw new AtollError('SQL_REJECTED', `unknown dataset: ${name}`);
      tables.add(lower);
    }
    if (node.class === 'FUNCTION' || node.type === 'FUNCTION') {
      const fn = str(node.function_name).toLowerCase();
      if (forbiddenFunctions.has(fn) || fn.startsWith('read_') || fn.startsWith('duckdb_') || fn.startsWith('pragma_')) {
        throw new AtollError('SQL_REJECTED', `function ${fn} is not allowed`);
      }
    }
  });
  if (tables.size === 0) throw new AtollError('SQL_REJECTED', 'the query reads no published dataset');
  return { tables: [...tables].sort() };
}
