// Bad input against the running api: every case gets a clear 4xx from the error catalog and leaves nothing behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore } from '@atoll/storage';
import type { AtollHttp} from '@atoll/stack';
import { waitUntil } from '@atoll/stack';
import { api, env, newConsumer, operator, providerWithTable } from './support/actors.js';
import { approveAgreement, delegate, tidsOf } from './support/market.js';

let op: AtollHttp;
let provider: Awaited<ReturnType<typeof providerWithTable>>;
const root = () => new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });

async function nothingStaged(): Promise<void> {
  expect(await root().listObjects('atoll-staging', `_api/${provider.id}/`)).toEqual([]);
  const { ingests } = await provider.http.call<{ ingests: unknown[] }>('GET', '/v1/ingests');
  expect(ingests).toEqual([]);
}

function expectError(r: { status: number; body: unknown }, status: number, code: string, message?: RegExp): void {
  expect(r.status).toBe(status);
  const body = r.body as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  if (message) expect(body.error.message).toMatch(message);
}

beforeAll(async () => {
  op = await operator();
  provider = await providerWithTable(op);
});

describe('uploads', () => {
  const ndjson = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');

  it('refuses an unknown table', async () => {
    const r = await provider.http.raw('POST', '/v1/uploads/nope', { rawBody: ndjson([{ user_id: 'u', kind: 'a', value: 1 }]), contentType: 'application/x-ndjson' });
    expectError(r, 404, 'UNKNOWN_TABLE', /nope/);
  });

  it('refuses malformed NDJSON, naming the line, and stores nothing', async () => {
    const r = await provider.http.raw('POST', '/v1/uploads/events', {
      rawBody: `${JSON.stringify({ user_id: 'u1', kind: 'a', value: 1 })}\n{"user_id": "u2", "kind": \n`,
      contentType: 'application/x-ndjson',
    });
    expectError(r, 400, 'MALFORMED_NDJSON', /line 2/);
    await nothingStaged();
  });

  it('refuses a record that violates the schema, naming line and column', async () => {
    const r = await provider.http.raw('POST', '/v1/uploads/events', {
      rawBody: ndjson([{ user_id: 'u1', kind: 'a', value: 1 }, { user_id: 'u1', kind: 'a', value: 1 }, { user_id: 'u2', kind: 'b', value: 'seven' }]),
      contentType: 'application/x-ndjson',
    });
    expectError(r, 400, 'SCHEMA_VIOLATION', /line 3: column value expects an integer/);
    await nothingStaged();
  });

  it('refuses a wrong content type and an empty body', async () => {
    expectError(await provider.http.raw('POST', '/v1/uploads/events', { rawBody: 'user_id,kind\nu,a', contentType: 'text/csv' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await provider.http.raw('POST', '/v1/uploads/events', { rawBody: '\n\n', contentType: 'application/x-ndjson' }), 400, 'EMPTY_UPLOAD');
    expectError(await provider.http.raw('POST', '/v1/uploads/events', { body: { user_id: 'u' } }), 400, 'MALFORMED_JSON', /array/);
    await nothingStaged();
  });

  it('accepts a JSON array too, and an Idempotency-Key makes a retry return the same upload', async () => {
    const body = [
      { user_id: 'u1', kind: 'a', value: 1 },
      { user_id: 'u2', kind: 'b', value: 2 },
    ];
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await provider.http.raw('POST', '/v1/uploads/events', { body, headers });
    const again = await provider.http.raw('POST', '/v1/uploads/events', { body, headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const id = (first.body as { uploadId: string }).uploadId;
    await waitUntil('the upload to load', async () => {
      const { ingests } = await provider.http.call<{ ingests: Array<{ id: string; status: string; records: number }> }>('GET', '/v1/ingests?table=events');
      expect(ingests.filter((i) => i.id === id)).toHaveLength(1);
      return ingests.find((i) => i.id === id && i.status === 'loaded');
    });
    const { ingests } = await provider.http.call<{ ingests: unknown[] }>('GET', '/v1/ingests?table=events');
    expect(ingests).toHaveLength(1);
    // Loaded data leaves staging.
    expect(await root().listObjects('atoll-staging', `_api/${provider.id}/`)).toEqual([]);
  });
});

describe('authentication and roles', () => {
  it('refuses a missing, malformed, forged or foreign token', async () => {
    expectError(await api.raw('POST', '/v1/uploads/events', { body: [] }), 401, 'UNAUTHENTICATED');
    expectError(await api.withToken('not-a-jwt').raw('GET', '/v1/ingests'), 401, 'UNAUTHENTICATED');
    // alg: none
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
    expectError(await api.withToken(none).raw('GET', '/v1/ingests'), 401, 'UNAUTHENTICATED');
    // A real Keycloak token of the operator is foreign on provider and consumer routes.
    expectError(await op.raw('GET', '/v1/ingests'), 403, 'FORBIDDEN', /provider/);
    // A provider's token cannot do operator work.
    expectError(await provider.http.raw('POST', '/v1/providers', { body: { name: 'x' } }), 403, 'FORBIDDEN', /operator/);
  });

  it('refuses a token whose signature was tampered with', async () => {
    const token = (op as unknown as { token: string }).token;
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, atoll_org: provider.id, realm_access: { roles: ['provider'] } })).toString('base64url');
    expectError(await api.withToken(`${h}.${forged}.${s}`).raw('GET', '/v1/ingests'), 401, 'UNAUTHENTICATED');
  });
});

describe('consumer SQL', () => {
  let consumer: Awaited<ReturnType<typeof newConsumer>>;
  let cleanroomId: string;
  beforeAll(async () => {
    consumer = await newConsumer(op);
    cleanroomId = (await consumer.http.call<{ id: string }>('POST', '/v1/cleanrooms', { body: { name: 'sql' } })).id;
    await op.call('PUT', `/v1/datasets/${provider.dataset}/price`, { body: { perRecord: { amount: 0.01, currency: 'usd' } } });
  });

  const estimate = (sql: string) => consumer.http.raw('POST', '/v1/estimates', { body: { cleanroomId, table: 't', sql } });

  it('refuses anything but one SELECT over published datasets', async () => {
    expectError(await estimate(`DELETE FROM ${provider.dataset}`), 400, 'SQL_REJECTED', /only a SELECT/);
    expectError(await estimate(`SELECT tid FROM ${provider.dataset}; SELECT 1`), 400, 'SQL_REJECTED', /exactly one/);
    expectError(await estimate(`SELECT * FROM read_parquet('/etc/passwd')`), 400, 'SQL_REJECTED', /table functions/);
    expectError(await estimate('SELECT * FROM no_such_dataset'), 400, 'SQL_REJECTED', /unknown dataset/);
    expectError(await estimate(`SELECT kind FROM ${provider.dataset}`), 400, 'SQL_REJECTED', /tid/);
  });

  it('refuses a cohort under 25 distinct subjects', async () => {
    // Ten licensed subjects (delegated licenses under an approved agreement); only licensed subjects count.
    const users = Array.from({ length: 10 }, (_, i) => `c${i}`);
    await approveAgreement(op, provider);
    await delegate(provider, Object.values(await tidsOf(provider, users)), ['events'], [{ usecases: ['analytics'], destinations: ['*'] }]);
    const up = await provider.http.call<{ uploadId: string }>('POST', '/v1/uploads/events', {
      body: users.map((u, i) => ({ user_id: u, kind: 'k', value: i })),
    });
    await waitUntil('the upload to load', async () => {
      const { ingests } = await provider.http.call<{ ingests: Array<{ id: string; status: string }> }>('GET', '/v1/ingests?table=events');
      return ingests.find((i) => i.id === up.uploadId && i.status === 'loaded');
    });
    await waitUntil('published rows', async () => {
      const r = await estimate(`SELECT tid, value FROM ${provider.dataset}`);
      return r.status === 422 && (r.body as { error: { details?: { distinctSubjects: number } } }).error.details?.distinctSubjects === 10 ? r : null;
    });
    const r = await estimate(`SELECT tid, value FROM ${provider.dataset}`);
    expectError(r, 422, 'COHORT_TOO_SMALL');
  });
});

describe('operator', () => {
  it('refuses approving twice, unknown ids and bad bodies', async () => {
    const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: 'twice', useCase: { category: 'analytics', description: 'testing approvals' } } });
    expect((await op.raw('POST', `/v1/consumers/${c.id}/approve`)).status).toBe(200);
    expectError(await op.raw('POST', `/v1/consumers/${c.id}/approve`), 409, 'CONFLICT');
    expectError(await op.raw('POST', '/v1/consumers/00000000-0000-4000-8000-000000000000/approve'), 404, 'NOT_FOUND');
    expectError(await op.raw('POST', '/v1/consumers', { body: { name: 'x', useCase: { category: 'spying', description: 'not a use case we know' } } }), 400, 'VALIDATION_FAILED');
    expectError(await op.raw('PUT', '/v1/datasets/none_such/price', { body: { perRecord: { amount: 1, currency: 'usd' } } }), 404, 'NOT_FOUND');
  });
});

describe('service endpoints', () => {
  it('serves health, readiness with every dependency, metrics, OpenAPI 3.1 and docs', async () => {
    expect((await api.raw('GET', '/healthz')).status).toBe(200);
    const ready = await api.raw('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(Object.keys((ready.body as { checks: object }).checks).sort()).toEqual(['keycloak', 'minio', 'postgres', 'redis']);
    const metrics = await api.raw('GET', '/metrics');
    expect(String(metrics.body)).toContain('atoll_api_http_request_duration_seconds_bucket');
    const doc = (await api.raw('GET', '/openapi.json')).body as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/uploads/{table}', '/v1/providers', '/v1/estimates', '/v1/cleanrooms']));
    const docs = await fetch(`${env.ATOLL_API_URL}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    expectError(await api.raw('GET', '/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
  });
});
