// Reads a lake table from the outside, as an operator's data team would: PyIceberg and stock DuckDB 1.4.4 through
// Atoll's Iceberg REST catalog with vended credentials (the interop clients in packages/iceberg/interop).
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@atoll/stack';

const INTEROP = join(repoRoot, 'packages', 'iceberg', 'interop');
const pythons = new Map<string, string>();

function python(venv: 'pyiceberg' | 'duckdb'): string {
  let p = pythons.get(venv);
  if (!p) {
    p = execFileSync(process.execPath, [join(INTEROP, 'ensure-venv.mjs'), venv], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }).trim();
    pythons.set(venv, p);
  }
  return p;
}

async function runPython(venv: 'pyiceberg' | 'duckdb', args: string[], stdin: unknown): Promise<unknown> {
  const child = spawn(python(venv), args, { env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(JSON.stringify(stdin));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`${args[0]} exited ${code} without JSON: ${out.slice(0, 500)} ${err.slice(-2000)}`);
  }
  const e = parsed as { error?: string; message?: string };
  if (e.error) throw new Error(`${args[0]}: ${e.error}: ${e.message}`);
  return parsed;
}

export interface CatalogCredentials {
  uri: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

/** Every value of `column` in the table's current snapshot, read by PyIceberg (RestCatalog, vended credentials). */
export async function pyicebergColumn(c: CatalogCredentials, table: string, column: string): Promise<number[]> {
  const out = (await runPython('pyiceberg', [join(INTEROP, 'rest_client.py'), c.uri, '-', 'read', table], {
    credential: `${c.clientId}:${c.clientSecret}`,
    'oauth2-server-uri': c.tokenUrl,
    scope: 'openid',
  })) as { rows: Array<Record<string, unknown>> };
  return out.rows.map((r) => Number(r[column]));
}

/** count(*), count(DISTINCT column) and sum(column) of the table, read by DuckDB ATTACHed to the catalog. */
export async function duckdbStats(c: CatalogCredentials, namespace: string, table: string, column: string): Promise<{ rows: number; distinct: number; sum: number }> {
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const out = (await runPython('duckdb', [join(INTEROP, 'duckdb_client.py')], {
    mode: 'catalog',
    endpoint: c.uri,
    oauth2_server_uri: c.tokenUrl,
    client_id: c.clientId,
    client_secret: c.clientSecret,
    oauth2_scope: 'openid',
    queries: [`SELECT count(*) AS n, count(DISTINCT ${q(column)}) AS d, coalesce(sum(${q(column)}), 0) AS s FROM atoll.${q(namespace)}.${q(table)}`],
  })) as { results: Array<{ rows?: Array<{ n: number; d: number; s: number | string }>; error?: string; message?: string }> };
  const r = out.results[0]!;
  if (r.error) throw new Error(`DuckDB: ${r.error}: ${r.message}`);
  const row = r.rows![0]!;
  return { rows: Number(row.n), distinct: Number(row.d), sum: Number(row.s) };
}
