// A small HTTP + S3 client for Atoll used by the demo and the black-box tests: it speaks only the public API.
import { Duck, literal } from '@atoll/duck';
import { planFiles, readTableMetadata } from '@atoll/iceberg';
import { ObjectStore, S3FileIO } from '@atoll/storage';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
  get code(): string | undefined {
    return (this.body as { error?: { code?: string } }).error?.code;
  }
}

export async function clientToken(env: Record<string, string>, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(`${env.ATOLL_KEYCLOAK_URL}/realms/${env.ATOLL_REALM}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (!res.ok) throw new Error(`token for ${clientId}: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export class AtollHttp {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  withToken(token: string): AtollHttp {
    return new AtollHttp(this.baseUrl, token);
  }

  async raw(method: string, path: string, opts: { body?: unknown; rawBody?: string | Buffer; contentType?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | Buffer | undefined;
    if (opts.rawBody !== undefined) {
      body = opts.rawBody;
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async call<T>(method: string, path: string, opts: Parameters<AtollHttp['raw']>[2] = {}): Promise<T> {
    const r = await this.raw(method, path, opts);
    if (r.status >= 400) throw new ApiError(r.status, r.body);
    return r.body as T;
  }
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export interface CleanroomKey {
  bucket: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Reads a cleanroom Iceberg table the way a consumer would: with its own key, via metadata/version-hint.text. */
export async function readCleanroomTable(key: CleanroomKey, table: string): Promise<Record<string, unknown>[]> {
  const store = new ObjectStore({ endpoint: key.endpoint, region: key.region, accessKey: key.accessKeyId, secretKey: key.secretAccessKey });
  const io = new S3FileIO(store);
  const location = `s3://${key.bucket}/${table}`;
  const hint = Buffer.from(await io.read(`${location}/metadata/version-hint.text`)).toString('utf8').trim();
  const metadata = await readTableMetadata(io, `${location}/metadata/v${hint}.metadata.json`);
  const files = await planFiles({ io, metadata });
  const dir = await mkdtemp(join(tmpdir(), 'atoll-read-'));
  const duck = await Duck.open({ threads: 1 });
  try {
    const locals: string[] = [];
    for (const [i, f] of files.entries()) {
      const local = join(dir, `${i}.parquet`);
      const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(f.filePath)!;
      await store.downloadFile(m[1]!, m[2]!, local);
      locals.push(local);
    }
    if (locals.length === 0) return [];
    return await duck.all(`SELECT * FROM read_parquet([${locals.map(literal).join(', ')}]) ORDER BY ALL`);
  } finally {
    duck.close();
    await rm(dir, { recursive: true, force: true });
  }
}
