// Runs the stock engines' interop scripts (packages/iceberg/interop/*.py) from integration tests: installs their venvs
// once, passes secrets on stdin (never argv) and parses the one JSON object each prints.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, duckdbFieldIds, duckdbSelectList, newDataFileUri, type IcebergSchema, type TableIdentifier } from '@atoll/iceberg';
import type { Lake } from '@atoll/lake';
import { parseS3Uri } from '@atoll/storage';
import { env } from './actors.js';

const run = promisify(execFile);
export const INTEROP_DIR = fileURLToPath(new URL('../../packages/iceberg/interop/', import.meta.url));

/** The venv's python for an engine (`duckdb`, `spark`, or PyIceberg when none is named), installed once per machine. */
export async function enginePython(...which: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs'), ...which], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Runs a Python interop script with `input` on stdin and no AWS_* variables inherited; returns its JSON answer. */
export async function python<T>(interpreter: string, args: string[], input: unknown): Promise<T> {
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const child = spawn(interpreter, args, { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(JSON.stringify(input));
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`${args[0]} printed no JSON: ${stdout}${stderr}`);
  }
}

export type QueryResult = { columns: string[]; rows: Array<Record<string, unknown>> } | { error: string; message: string };
export interface DuckOutput {
  tables?: string[][];
  results?: QueryResult[];
  error?: string;
  message?: string;
}

export const tokenUrl = (): string => `${env.ATOLL_KEYCLOAK_URL}/realms/${env.ATOLL_REALM}/protocol/openid-connect/token`;

/** duckdb_client.py's catalog mode: CREATE SECRET (OAuth2 client credentials) + ATTACH with vended credentials as `atoll`. */
export function duckCatalogRequest(opts: { catalogUrl: string; clientId: string; clientSecret: string; queries: string[] }): Record<string, unknown> {
  return {
    mode: 'catalog',
    endpoint: opts.catalogUrl,
    oauth2_server_uri: tokenUrl(),
    // Keycloak refuses DuckDB's default scope (PRINCIPAL_ROLE:ALL); any scope the client has works.
    oauth2_scope: 'openid',
    client_id: opts.clientId,
    client_secret: opts.clientSecret,
    queries: opts.queries,
  };
}

export const runDuckdb = (interpreter: string, request: Record<string, unknown>): Promise<DuckOutput> => python<DuckOutput>(interpreter, [join(INTEROP_DIR, 'duckdb_client.py')], request);

export function rowsOf(result: QueryResult | undefined): Array<Record<string, unknown>> {
  if (!result || 'error' in result) throw new Error(`query failed: ${JSON.stringify(result)}`);
  return result.rows;
}

export function errorOf(result: QueryResult | undefined): string {
  if (!result || !('error' in result)) throw new Error(`query was expected to fail: ${JSON.stringify(result)}`);
  return `${result.error}: ${result.message}`;
}

/**
 * Creates the table if missing and appends `rows` as one snapshot the way Atoll's writers do (DuckDB COPY with field
 * ids, then `appendFiles` on the catalog pointer). Values are SQL literal text or null. Returns the new snapshot id.
 */
export async function appendRows(opts: {
  lake: Lake;
  id: TableIdentifier;
  location: string;
  schema: IcebergSchema;
  columns: string[];
  rows: Array<Array<string | null>>;
  workDir: string;
}): Promise<bigint> {
  const table = await createTable({ io: opts.lake.io, catalog: opts.lake.catalog, id: opts.id, location: opts.location, schema: opts.schema, ifNotExists: true });
  const output = join(opts.workDir, `${randomUUID()}.parquet`);
  const values = opts.rows.map((r) => `(${r.map((v) => (v === null ? 'NULL' : literal(v))).join(', ')})`).join(', ');
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB' });
  try {
    await duck.run(`CREATE TABLE result AS SELECT * FROM (VALUES ${values}) AS t(${opts.columns.join(', ')})`);
    await duck.run(`COPY (SELECT ${duckdbSelectList(opts.schema)} FROM result) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(opts.schema)})`);
    const uri = newDataFileUri(table.metadata);
    const dataFile = await dataFileFromParquet(output, { uri, schema: opts.schema, connection: duck.connection });
    const { bucket, key } = parseS3Uri(uri);
    await opts.lake.store.putFile(bucket, key, output, { contentType: 'application/vnd.apache.parquet' });
    const committed = await appendFiles({ io: opts.lake.io, catalog: opts.lake.catalog, id: opts.id, files: [dataFile], commitId: `test:${randomUUID()}` });
    return committed.snapshotId;
  } finally {
    duck.close();
    rmSync(output, { force: true });
  }
}
