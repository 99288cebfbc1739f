// The parser gate for untrusted consumer SQL (decision 6): DuckDB's own parser turns the text into an AST and the gate
// accepts exactly one SELECT whose every node is on an allow-list: known query, table and expression node kinds,
// published datasets (or the query's own CTEs) as tables, and only the functions in allowed-functions.ts. Unknown
// node kinds are refused, so syntax a future DuckDB adds is refused until someone looks at it.
// Hand-written because the allow-list is ours; DuckDB's `json_serialize_sql` is the parser, so the gate and the
// engine never disagree on what the text means.
import { AtollError } from '@atoll/errors';
import { allowedFunctions, clockFreeArity, refusalReason } from './allowed-functions.js';
import type { Duck } from './duck.js';

export interface GateResult {
  /** Published datasets the query reads, lower-cased, deduplicated. */
  tables: string[];
}

/** Size limits on the query text and its AST; hostile input is refused before it costs much. */
export interface GateLimits {
  /** Characters of SQL text. */
  maxLength: number;
  /** Nesting of brackets in the text, and of nodes in the AST (a query inside a subquery inside a join is 3 deep). */
  maxDepth: number;
  /** Nodes (queries, table references, expressions, modifiers) in the AST. */
  maxNodes: number;
}

export const defaultGateLimits: Readonly<GateLimits> = Object.freeze({ maxLength: 20_000, maxDepth: 100, maxNodes: 10_000 });

export interface GateOptions extends Partial<GateLimits> {
  /** Published dataset names, lower-case. */
  datasets: ReadonlySet<string>;
}

type Node = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
function reject(reason: string): never {
  throw new AtollError('SQL_REJECTED', reason);
}

// Query nodes, table references, result modifiers, ORDER BY entries and type details: the `type` of AST objects that
// are not expressions.
const allowedNodeTypes = new Set([
  'SELECT_NODE',
  'SET_OPERATION_NODE',
  'ORDER_MODIFIER',
  'LIMIT_MODIFIER',
  'LIMIT_PERCENT_MODIFIER',
  'DISTINCT_MODIFIER',
  'ORDER_DEFAULT',
  'ASCENDING',
  'DESCENDING',
  'BASE_TABLE',
  'JOIN',
  'SUBQUERY',
  'EMPTY',
  'EXPRESSION_LIST',
]);

const refusedNodeTypes: Record<string, string> = {
  RECURSIVE_CTE_NODE: 'recursive CTEs (WITH RECURSIVE) are not allowed: a recursion can run without bound',
  SHOW_REF: 'SUMMARIZE, DESCRIBE and SHOW are not allowed',
  // The statement form of PIVOT without an IN list first runs a query to find the columns and creates an ENUM type;
  // the table form is refused with it so there is one rule. CASE / FILTER aggregates do the same job.
  PIVOT: 'PIVOT and UNPIVOT are not allowed; use aggregates with FILTER (WHERE …) or CASE',
};

// Expression classes and the node types each may carry. PARAMETER, LAMBDA, DEFAULT and anything unknown are refused.
const expressionTypes: Record<string, ReadonlySet<string>> = {
  CONSTANT: new Set(['VALUE_CONSTANT']),
  COLUMN_REF: new Set(['COLUMN_REF']),
  COMPARISON: new Set([
    'COMPARE_EQUAL',
    'COMPARE_NOTEQUAL',
    'COMPARE_LESSTHAN',
    'COMPARE_GREATERTHAN',
    'COMPARE_LESSTHANOREQUALTO',
    'COMPARE_GREATERTHANOREQUALTO',
    'COMPARE_DISTINCT_FROM',
    'COMPARE_NOT_DISTINCT_FROM',
  ]),
  CONJUNCTION: new Set(['CONJUNCTION_AND', 'CONJUNCTION_OR']),
  BETWEEN: new Set(['COMPARE_BETWEEN']),
  CASE: new Set(['CASE_EXPR']),
  CAST: new Set(['OPERATOR_CAST']),
  COLLATE: new Set(['COLLATE']),
  SUBQUERY: new Set(['SUBQUERY']),
  POSITIONAL_REFERENCE: new Set(['POSITIONAL_REFERENCE']),
  OPERATOR: new Set([
    'OPERATOR_NOT',
    'OPERATOR_IS_NULL',
    'OPERATOR_IS_NOT_NULL',
    'COMPARE_IN',
    'COMPARE_NOT_IN',
    'OPERATOR_COALESCE',
    'ARRAY_EXTRACT',
    'ARRAY_SLICE',
    'STRUCT_EXTRACT',
    'ARRAY_CONSTRUCTOR',
    'GROUPING_FUNCTION',
  ]),
  FUNCTION: new Set(['FUNCTION']),
  STAR: new Set(['STAR']),
  WINDOW: new Set([
    'WINDOW_AGGREGATE',
    'WINDOW_ROW_NUMBER',
    'WINDOW_RANK',
    'WINDOW_RANK_DENSE',
    'WINDOW_PERCENT_RANK',
    'WINDOW_CUME_DIST',
    'WINDOW_NTILE',
    'WINDOW_LAG',
    'WINDOW_LEAD',
    'WINDOW_FIRST_VALUE',
    'WINDOW_LAST_VALUE',
    'WINDOW_NTH_VALUE',
  ]),
};

const refusedExpressions: Record<string, string> = {
  PARAMETER: 'prepared-statement parameters ($1, ?, $name) are not allowed; write the values into the query',
  // Lambdas (x -> x + 1, lambda x: …) only feed list_transform-like functions, none of which are allowed; the JSON
  // arrow `->` parses as a lambda too.
  LAMBDA: 'lambda expressions (and the JSON -> operator) are not allowed',
  DEFAULT: 'DEFAULT is not allowed in a SELECT',
};

// Bare names DuckDB binds to a function when no column has that name (even when quoted): `SELECT current_schema FROM t`
// calls current_schema(). A dataset column with one of these names can still be read qualified (`p.user`).
const sqlValueFunctions = new Set([
  'current_catalog',
  'current_date',
  'current_schema',
  'current_role',
  'current_time',
  'current_timestamp',
  'current_user',
  'localtime',
  'localtimestamp',
  'session_user',
  'user',
]);

const filePath = /[/\\:]|\.(csv|parquet|json|ndjson|jsonl|tsv|txt|gz|zst|db|duckdb|sqlite|xlsx)$/i;

/**
 * Gates one untrusted SELECT. Resolves to the published datasets it reads; rejects with `SQL_REJECTED` and a reason
 * that names what was refused. `duck` only parses (nothing is executed), so it may be the sandbox the query later runs in.
 */
export async function gateSelect(duck: Duck, sql: string, opts: GateOptions): Promise<GateResult> {
  const limits: GateLimits = {
    maxLength: opts.maxLength ?? defaultGateLimits.maxLength,
    maxDepth: opts.maxDepth ?? defaultGateLimits.maxDepth,
    maxNodes: opts.maxNodes ?? defaultGateLimits.maxNodes,
  };
  if (typeof sql !== 'string' || sql.trim() === '') reject('the query is empty');
  if (sql.length > limits.maxLength) reject(`the query is longer than ${limits.maxLength} characters`);
  const lexed = scanText(sql);
  // Checked on the text first: DuckDB's parser gives up on deep nesting with "memory exhausted", which says nothing.
  if (lexed.maxNesting > limits.maxDepth) reject(`the query nests brackets deeper than ${limits.maxDepth} levels`);

  const [row] = await duck.all<{ ast: string }>('SELECT json_serialize_sql($1::VARCHAR) AS ast', [sql]);
  const ast = JSON.parse(row?.ast ?? '{}') as { error?: boolean; error_message?: string; statements?: Node[] };
  if (ast.error) {
    const msg = ast.error_message ?? 'unparseable';
    if (/Only SELECT statements/i.test(msg)) {
      const word = lexed.firstWord.toUpperCase();
      reject(word && !['SELECT', 'WITH', 'FROM', 'VALUES'].includes(word) ? `only a SELECT statement is allowed, not ${word}` : 'only a SELECT statement is allowed');
    }
    if (/memory exhausted|expression depth/i.test(msg)) reject('the query is nested too deeply for the parser');
    reject(`it does not parse: ${msg.split('\n')[0]}`);
  }
  const statements = ast.statements ?? [];
  if (statements.length !== 1) reject(`exactly one SELECT statement is allowed, found ${statements.length}`);

  const walker = new AstWalker(sql, opts.datasets, limits);
  walker.visit(statements[0], 0, new Set());
  if (walker.tables.size === 0) reject('the query reads no published dataset');
  return { tables: [...walker.tables].sort() };
}

class AstWalker {
  readonly tables = new Set<string>();
  private nodes = 0;
  private readonly sqlBytes: Buffer;

  constructor(
    sql: string,
    private readonly datasets: ReadonlySet<string>,
    private readonly limits: GateLimits,
  ) {
    // query_location in the AST counts UTF-8 bytes.
    this.sqlBytes = Buffer.from(sql, 'utf8');
  }

  /** Checks `value` and everything under it; `depth` counts AST nodes above it, `ctes` the CTE names in scope. */
  visit(value: unknown, depth: number, ctes: ReadonlySet<string>): void {
    if (Array.isArray(value)) {
      for (const v of value) this.visit(v, depth, ctes);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const node = value as Node;
    let scope = ctes;
    if (typeof node.class === 'string' || typeof node.type === 'string') {
      depth += 1;
      this.nodes += 1;
      if (depth > this.limits.maxDepth) reject(`the query is nested too deeply (more than ${this.limits.maxDepth} levels)`);
      if (this.nodes > this.limits.maxNodes) reject(`the query has more than ${this.limits.maxNodes} syntax nodes`);
      if (typeof node.class === 'string') this.checkExpression(node);
      else this.checkNode(node, ctes);
    }
    const map = (node.cte_map as { map?: Array<{ key?: unknown }> } | undefined)?.map;
    if (Array.isArray(map) && map.length > 0) {
      // A CTE is visible in the query that defines it, its subqueries and the later CTEs of the same WITH.
      const inner = new Set(ctes);
      for (const e of map) if (typeof e.key === 'string') inner.add(e.key.toLowerCase());
      scope = inner;
    }
    if (node.sample) this.checkSample(node.sample as Node);
    for (const v of Object.values(node)) this.visit(v, depth, scope);
  }

  private checkNode(node: Node, ctes: ReadonlySet<string>): void {
    const type = str(node.type);
    if (type === 'BASE_TABLE') return this.checkTable(node, ctes);
    if (type === 'TABLE_FUNCTION') {
      const fn = str((node.function as Node | undefined)?.function_name).toLowerCase();
      reject(`table functions are not allowed${fn ? `: ${fn}` : ''}`);
    }
    if (allowedNodeTypes.has(type) || type.endsWith('_TYPE_INFO')) {
      if (type === 'UNBOUND_TYPE_INFO' || type === 'USER_TYPE_INFO') {
        if (str(node.catalog) !== '' || str(node.schema) !== '') reject(`qualified type name ${[node.catalog, node.schema, node.name ?? node.user_type_name].filter(Boolean).join('.')} is not allowed`);
      }
      return;
    }
    reject(refusedNodeTypes[type] ?? `this SQL construct is not allowed (${type})`);
  }

  private checkTable(node: Node, ctes: ReadonlySet<string>): void {
    const name = str(node.table_name);
    const schema = str(node.schema_name);
    const catalog = str(node.catalog_name);
    if (catalog !== '' || schema !== '') reject(`qualified name ${[catalog, schema, name].filter(Boolean).join('.')} is not allowed; use the dataset name`);
    if (filePath.test(name)) reject(`file paths are not allowed: ${name}`);
    const at = typeof node.query_location === 'number' ? node.query_location : -1;
    // A string literal where a table belongs is a replacement scan: DuckDB would read it as a file.
    if (at >= 0 && at < this.sqlBytes.length && this.sqlBytes[at] === 0x27) reject(`a quoted string as a table name ('${name}') is not allowed; use the dataset name`);
    if (node.at_clause) reject(`time travel (${name} AT …) is not allowed`);
    const lower = name.toLowerCase();
    if (ctes.has(lower)) return;
    if (!this.datasets.has(lower)) reject(`unknown dataset: ${name}`);
    this.tables.add(lower);
  }

  private checkSample(sample: Node): void {
    // DuckDB draws a fresh seed for every run unless REPEATABLE (seed) is given; a run must select the same rows
    // when it is retried.
    const seed = typeof sample.seed === 'number' ? sample.seed : -1;
    if (seed < 0) reject('SAMPLE / TABLESAMPLE without REPEATABLE (seed) is not allowed: it selects different rows on every run');
  }

  private checkExpression(node: Node): void {
    const cls = str(node.class);
    const type = str(node.type);
    const refused = refusedExpressions[cls];
    if (refused) reject(refused);
    const types = expressionTypes[cls];
    if (!types) reject(`this SQL expression is not allowed (${cls})`);
    if (!types.has(type)) {
      if (type === 'OPERATOR_UNPACK') reject('COLUMNS(…) expressions are not allowed; name the columns');
      reject(`this SQL expression is not allowed (${type})`);
    }
    switch (cls) {
      case 'COLUMN_REF': {
        const names = Array.isArray(node.column_names) ? node.column_names.map(str) : [];
        const only = names.length === 1 ? names[0]!.toLowerCase() : '';
        if (sqlValueFunctions.has(only)) reject(`${refusalReason(only)} (a dataset column called ${only} can be read qualified, e.g. t.${only})`);
        return;
      }
      case 'STAR':
        // `*`, `t.*`, COLUMNS(*) and ORDER BY ALL carry no expression. COLUMNS('regex') / COLUMNS([..]) / COLUMNS(lambda)
        // compute the column set from an expression while binding; the gate keeps projections readable instead.
        if (node.expr !== null && node.expr !== undefined) reject('COLUMNS(…) with a pattern or expression is not allowed; name the columns or use *');
        return;
      case 'FUNCTION':
        return this.checkFunction(node, false);
      case 'WINDOW':
        return this.checkFunction(node, true);
      default:
        return;
    }
  }

  private checkFunction(node: Node, windowed: boolean): void {
    const name = str(node.function_name).toLowerCase();
    const schema = str(node.schema);
    const catalog = str(node.catalog);
    // The parser itself writes `main` as the schema of some built-ins (EXTRACT → main.date_part).
    if (catalog !== '' || (schema !== '' && schema !== 'main')) {
      reject(`qualified function name ${[catalog, schema, name].filter(Boolean).join('.')} is not allowed; call ${name}(…) without a prefix`);
    }
    // A ranking or value window (ROW_NUMBER, LAG, FIRST_VALUE, …) is fixed by its allow-listed node type; the name it
    // carries may be an alias (first(x) OVER () is FIRST_VALUE). Only windowed aggregates name an arbitrary function.
    if (windowed && str(node.type) !== 'WINDOW_AGGREGATE') return;
    const kind = allowedFunctions.get(name);
    if (!kind) reject(refusalReason(name));
    if (windowed) {
      if (kind !== 'aggregate') reject(`function ${name} is not allowed with OVER (…)`);
    } else if (kind === 'window') {
      reject(`function ${name} is a window function and needs OVER (…)`);
    }
    if (node.export_state === true) reject(`EXPORT_STATE is not allowed (${name})`);
    const arity = clockFreeArity.get(name);
    const args = Array.isArray(node.children) ? node.children.length : 0;
    if (arity !== undefined && args < arity) {
      reject(`function ${name} with ${args} argument${args === 1 ? '' : 's'} is not allowed: it measures from the current date, so a repeated run would differ; pass both dates`);
    }
  }
}

/**
 * A small lexer over the raw text: the deepest nesting of (), [] and {} outside strings, quoted identifiers and
 * comments, and the first keyword (to name a refused statement).
 */
export function scanText(sql: string): { maxNesting: number; firstWord: string } {
  let depth = 0;
  let maxNesting = 0;
  let firstWord = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      // Block comments nest, as in PostgreSQL.
      let level = 1;
      i += 2;
      while (i < n && level > 0) {
        if (sql.startsWith('/*', i)) {
          level += 1;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          level -= 1;
          i += 2;
        } else i += 1;
      }
    } else if (c === "'") {
      const escaped = /[eE]/.test(sql[i - 1] ?? '') && !/\w/.test(sql[i - 2] ?? '');
      i = skipQuoted(sql, i, "'", escaped);
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '$' && /^\$(?:[A-Za-z_]\w*)?\$/.test(sql.slice(i, i + 64))) {
      const tag = /^\$(?:[A-Za-z_]\w*)?\$/.exec(sql.slice(i, i + 64))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? n : end + tag.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^\w+/.exec(sql.slice(i, i + 64))![0];
      if (firstWord === '') firstWord = word;
      i += word.length;
    } else {
      if (c === '(' || c === '[' || c === '{') {
        depth += 1;
        if (depth > maxNesting) maxNesting = depth;
      } else if (c === ')' || c === ']' || c === '}') {
        depth = Math.max(0, depth - 1);
      }
      i += 1;
    }
  }
  return { maxNesting, firstWord };
}

function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}
