// The shape of a gated consumer SELECT, for subscription runs: a row-wise query (each output row comes from one input
// row of one dataset: filter and projection only) can be delivered incrementally, file by file and subject by subject;
// anything else (joins, aggregates, windows, DISTINCT, LIMIT, subqueries, set operations) is recomputed and merged.
import type { Duck } from './duck.js';

export type QueryShape = 'rowwise' | 'recompute';

type Node = Record<string, unknown>;

function nodes(value: unknown, out: Node[] = []): Node[] {
  if (Array.isArray(value)) for (const v of value) nodes(v, out);
  else if (value && typeof value === 'object') {
    out.push(value as Node);
    for (const v of Object.values(value)) nodes(v, out);
  }
  return out;
}

const isEmpty = (v: unknown): boolean => v === null || v === undefined || (Array.isArray(v) && v.length === 0);

// The same DuckDB build answers the same: asked once per process.
let aggregateCache: Promise<Set<string>> | undefined;

function aggregateNames(duck: Duck): Promise<Set<string>> {
  aggregateCache ??= duck
    .all<{ name: string }>(`SELECT DISTINCT function_name AS name FROM duckdb_functions() WHERE function_type = 'aggregate'`)
    .then((rows) => new Set([...rows.map((r) => r.name.toLowerCase()), 'count_star']))
    .catch((e: unknown) => {
      aggregateCache = undefined;
      throw e;
    });
  return aggregateCache;
}

/** Decides the shape from DuckDB's own AST. Call only on SQL that passed the gate (one SELECT). */
export async function queryShape(duck: Duck, sql: string): Promise<QueryShape> {
  const [row] = await duck.all<{ ast: string }>('SELECT json_serialize_sql($1::VARCHAR) AS ast', [sql]);
  const ast = JSON.parse(row?.ast ?? '{}') as { error?: boolean; statements?: Array<{ node?: Node }> };
  const node = ast.statements?.[0]?.node;
  if (ast.error || !node || ast.statements?.length !== 1) return 'recompute';
  if (node.type !== 'SELECT_NODE') return 'recompute';
  const from = node.from_table as Node | undefined;
  if (from?.type !== 'BASE_TABLE' || !isEmpty(from.sample)) return 'recompute';
  if (!isEmpty((node.cte_map as { map?: unknown[] } | undefined)?.map)) return 'recompute';
  // ORDER BY does not change which rows a table holds; DISTINCT and LIMIT do.
  if ((node.modifiers as Node[] | undefined)?.some((m) => m.type !== 'ORDER_MODIFIER')) return 'recompute';
  if (!isEmpty(node.group_expressions) || !isEmpty(node.having) || !isEmpty(node.qualify) || !isEmpty(node.sample)) return 'recompute';
  if (node.aggregate_handling !== 'STANDARD_HANDLING') return 'recompute';
  const aggregates = await aggregateNames(duck);
  for (const n of nodes([node.select_list, node.where_clause])) {
    if (n.class === 'SUBQUERY' || n.class === 'WINDOW') return 'recompute';
    if (n.class === 'FUNCTION' && aggregates.has(String(n.function_name).toLowerCase())) return 'recompute';
  }
  return 'rowwise';
}
