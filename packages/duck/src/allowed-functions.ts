// The functions consumer SQL may call (decision 6): pure scalar, aggregate and window functions a filter, projection or
// aggregate query needs. Everything else is refused by the gate. `allowed-functions.test.ts` checks every name against
// the pinned DuckDB's `duckdb_functions()`, so a misspelt or vanished name fails the build instead of a consumer.

/**
 * How DuckDB lists the function (`duckdb_functions().function_type`) and where the gate accepts it:
 * - `scalar`: a plain call (`FUNCTION` node); DuckDB lists it as `scalar`.
 * - `macro`: a built-in SQL macro called like a scalar; its body must itself use only allowed functions (tested).
 * - `aggregate`: a plain call or `OVER (...)`; DuckDB lists it as `aggregate`.
 * - `window`: only with `OVER (...)`; DuckDB 1.5 lists these as `aggregate` too.
 */
export type FunctionKind = 'scalar' | 'macro' | 'aggregate' | 'window';

// Operators the parser turns into FUNCTION nodes (`is_operator`): arithmetic, bitwise, string concatenation and the
// pattern matches LIKE (~~), ILIKE (~~*), their negations, GLOB (~~~), SIMILAR TO / ~ (regexp_full_match), ^@
// (starts_with) and the list containment operators. `->>` (JSON extraction) is not here: no JSON functions are.
const operators = ['+', '-', '*', '/', '//', '%', '**', '^', '&', '|', '<<', '>>', '~', 'xor', '||', '~~', '!~~', '~~*', '!~~*', '~~~', '^@', '@>', '<@', '&&'];

const math = [
  'abs', 'sign', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'even', 'mod', 'sqrt', 'cbrt', 'exp', 'ln', 'log', 'log2', 'log10', 'pow', 'power',
  'pi', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'gcd', 'lcm', 'isnan', 'isinf', 'isfinite',
  'greatest', 'least', 'add', 'subtract', 'multiply', 'divide',
];

// RE2 (DuckDB's regex engine) runs in time linear in the input, so regular expressions cannot be used to stall a run.
// Padding and format widths (lpad, rpad, repeat, format, printf) are left out: they build one value of any requested
// size, and such a value is allocated outside DuckDB's memory_limit (lpad to 500 MB succeeded under a 100 MB limit).
const strings = [
  'lower', 'lcase', 'upper', 'ucase', 'trim', 'ltrim', 'rtrim', 'substring', 'substr', 'length', 'len', 'char_length', 'character_length',
  'strlen', 'octet_length', 'concat', 'concat_ws', 'starts_with', 'prefix', 'ends_with', 'suffix', 'contains', 'replace', 'translate', 'reverse', 'left',
  'right', 'position', 'strpos', 'instr', 'ascii', 'chr', 'unicode', 'string_split', 'str_split', 'split', 'regexp_matches',
  'regexp_full_match', 'regexp_replace', 'regexp_extract', 'regexp_extract_all', 'regexp_split_to_array', 'like_escape', 'ilike_escape',
  'not_like_escape', 'not_ilike_escape', 'strip_accents', 'nfc_normalize', 'levenshtein', 'jaro_winkler_similarity', 'md5', 'sha256', 'to_hex', 'hex', 'base64', 'to_base64',
];

// All of these are functions of their arguments only. Functions of the clock (now, current_date, today, …) are not:
// a retried or repeated run would select different rows.
const dateTime = [
  'date_trunc', 'datetrunc', 'date_part', 'datepart', 'date_diff', 'datediff', 'date_sub', 'datesub', 'make_date', 'make_time', 'make_timestamp',
  'strftime', 'strptime', 'try_strptime', 'epoch', 'epoch_ms', 'to_timestamp', 'age', 'last_day', 'dayname', 'monthname', 'year', 'month',
  'day', 'dayofmonth', 'dayofweek', 'dayofyear', 'weekday', 'hour', 'minute', 'second', 'week', 'weekofyear', 'quarter', 'isodow', 'isoyear',
  'yearweek', 'time_bucket', 'timezone', 'to_years', 'to_months', 'to_weeks', 'to_days', 'to_hours', 'to_minutes', 'to_seconds',
  'to_milliseconds', 'to_microseconds',
];

// Lists, structs and maps as values: literals ([..], {..}, MAP {..}), indexing, membership. Functions that take a
// lambda or the name of another function as a string (list_transform, list_aggregate, …) are not here: the gate could
// not see what they call.
const nested = [
  'list_value', 'array_value', 'len', 'array_length', 'list_contains', 'list_has', 'array_contains', 'array_has', 'list_position',
  'list_extract', 'list_element', 'array_extract', 'list_slice', 'array_slice', 'list_distinct', 'list_sort', 'list_reverse_sort',
  'list_unique', 'list_has_any', 'list_has_all', 'list_concat', 'list_cat', 'flatten', 'struct_pack', 'struct_extract', 'row', 'map',
  'map_extract', 'map_keys', 'map_values', 'cardinality',
];

const scalarMacros = ['nullif', 'date_add', 'split_part', 'days_in_month'];

const aggregates = [
  'count', 'count_star', 'sum', 'avg', 'mean', 'min', 'max', 'stddev', 'stddev_samp', 'stddev_pop', 'variance', 'var_samp', 'var_pop', 'median',
  'mode', 'quantile', 'quantile_cont', 'quantile_disc', 'approx_count_distinct', 'approx_quantile', 'bool_and', 'bool_or', 'string_agg',
  'group_concat', 'listagg', 'list', 'array_agg', 'arg_min', 'arg_max', 'argmin', 'argmax', 'min_by', 'max_by', 'first', 'last', 'any_value',
  'count_if', 'countif', 'product', 'corr', 'covar_pop', 'covar_samp', 'regr_slope', 'regr_intercept', 'regr_r2', 'regr_count', 'entropy',
  'kurtosis', 'skewness', 'bit_and', 'bit_or', 'bit_xor', 'fsum', 'favg',
];

const windows = ['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value'];

function kinds(): Map<string, FunctionKind> {
  const m = new Map<string, FunctionKind>();
  for (const n of [...operators, ...math, ...strings, ...dateTime, ...nested]) m.set(n, 'scalar');
  for (const n of scalarMacros) m.set(n, 'macro');
  for (const n of aggregates) m.set(n, 'aggregate');
  for (const n of windows) m.set(n, 'window');
  return m;
}

/** Every function consumer SQL may call, lower-case, with where it may appear. */
export const allowedFunctions: ReadonlyMap<string, FunctionKind> = kinds();

/**
 * Functions that take at most this many arguments only in their pure form: `age(ts)` measures from the current
 * date, `age(a, b)` does not.
 */
export const clockFreeArity: ReadonlyMap<string, number> = new Map([['age', 2]]);

const clockOrChance = new Set([
  'random', 'uuid', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'setseed', 'now', 'today', 'current_date', 'current_time', 'current_timestamp',
  'get_current_time', 'get_current_timestamp', 'transaction_timestamp', 'current_localtime', 'current_localtimestamp', 'localtime',
  'localtimestamp', 'ago', 'nextval', 'currval', 'txid_current', 'current_transaction_id', 'current_query_id', 'current_connection_id',
]);

const engineState = new Set([
  'getvariable', 'current_setting', 'current_database', 'current_catalog', 'current_schema', 'current_schemas', 'current_query', 'current_user',
  'current_role', 'session_user', 'user', 'version', 'in_search_path', 'stats', 'get_block_size',
]);

const outsideReach = new Set(['getenv', 'glob', 'query', 'query_table', 'load_extension', 'install_extension', 'sql_auto_complete', 'which_secret', 'write_log']);

const stalling = new Set(['sleep_ms', 'pg_sleep']);

const sized = new Set(['lpad', 'rpad', 'repeat', 'format', 'printf', 'list_resize', 'array_resize']);

/** Why a function that is not on the allow-list is refused; names the function. */
export function refusalReason(name: string): string {
  if (clockOrChance.has(name)) {
    return `function ${name} is not allowed: its result depends on the clock, chance or engine state, so a repeated or retried run would not select the same rows; use literal values`;
  }
  if (engineState.has(name)) return `function ${name} is not allowed: it reads the engine's configuration or session, not the datasets`;
  if (sized.has(name)) return `function ${name} is not allowed: it builds a value of any requested size, outside the sandbox's memory limit`;
  if (stalling.has(name)) return `function ${name} is not allowed: it only makes the run wait`;
  if (outsideReach.has(name) || /^(read_|duckdb_|pragma_|parquet_|icu_|sniff_)/.test(name) || /^json_.*sql$/.test(name)) {
    return `function ${name} is not allowed: it reaches outside the published datasets`;
  }
  return `function ${name} is not allowed (it is not on the list of functions consumer SQL may call)`;
}
