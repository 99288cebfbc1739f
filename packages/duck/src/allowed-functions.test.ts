import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from './duck.js';
import { allowedFunctions, type FunctionKind } from './allowed-functions.js';
import { gateSelect } from './sql-gate.js';

let duck: Duck;
beforeAll(async () => {
  // A plain, trusted connection of the pinned DuckDB: duckdb_functions() is what the engine really has.
  duck = await Duck.open();
});
afterAll(() => duck.close());

// DuckDB 1.5 lists window functions (row_number, lag, …) with function_type 'aggregate'.
const listedAs: Record<FunctionKind, string> = { scalar: 'scalar', macro: 'macro', aggregate: 'aggregate', window: 'aggregate' };

/** Entries the pinned DuckDB does not have with the expected function_type, as "name (kind)". */
async function missingFromDuckDB(entries: Iterable<[string, FunctionKind]>): Promise<string[]> {
  const rows = await duck.all<{ name: string; type: string }>('SELECT DISTINCT lower(function_name) AS name, function_type AS type FROM duckdb_functions()');
  const have = new Set(rows.map((r) => `${r.name}\u0000${r.type}`));
  return [...entries].filter(([name, kind]) => !have.has(`${name}\u0000${listedAs[kind]}`)).map(([name, kind]) => `${name} (${kind})`);
}

describe('allowedFunctions', () => {
  it('names only functions the pinned DuckDB has, with a fitting function_type', async () => {
    expect(allowedFunctions.size).toBeGreaterThan(200);
    expect(await missingFromDuckDB(allowedFunctions)).toEqual([]);
  });

  it('the check fails for a misspelt name or a wrong kind', async () => {
    expect(
      await missingFromDuckDB([
        ['lowerr', 'scalar'],
        ['row_number', 'scalar'],
        ['sum', 'aggregate'],
      ]),
    ).toEqual(['lowerr (scalar)', 'row_number (scalar)']);
  });

  it('lists each of the window functions a consumer needs', () => {
    for (const name of ['row_number', 'rank', 'dense_rank', 'lag', 'lead', 'first_value', 'last_value', 'ntile', 'percent_rank', 'cume_dist']) {
      expect(allowedFunctions.get(name), name).toBe('window');
    }
  });

  it('allows built-in macros only when their bodies pass the gate themselves', async () => {
    const macros = [...allowedFunctions].filter(([, kind]) => kind === 'macro').map(([name]) => name);
    expect(macros.length).toBeGreaterThan(0);
    const rows = await duck.all<{ name: string; body: string }>(
      `SELECT function_name AS name, macro_definition AS body FROM duckdb_functions() WHERE function_type = 'macro' AND function_name IN (${macros.map((m) => `'${m}'`).join(', ')})`,
    );
    expect(rows.map((r) => r.name).sort()).toEqual([...macros].sort());
    for (const { name, body } of rows) {
      // The macro's parameters read as columns; the gate must accept every function and operator in the body.
      await expect(gateSelect(duck, `SELECT ${body} FROM purchases`, { datasets: new Set(['purchases']) }), name).resolves.toEqual({ tables: ['purchases'] });
    }
  });
});
