// Licensed uploads from devices against the real stack (in-process api, real MinIO/Postgres/Redis): the full device
// path attestation → register → token → license → upload, and every refusal of SPEC §5.5 leaving nothing staged.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, memoryStorage, type AtollClient } from '@atoll/client';
import { ObjectStore } from '@atoll/storage';
import { literal } from '@atoll/duck';
import { rawTableId } from '@atoll/lake';
import { AtollHttp, waitUntil } from '@atoll/stack';
import { lakeFixture, queryTable } from './support/lake-helpers.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env, uniq } from './support/actors.js';
import { deviceToken, expectCode, providerAt, registerDevice } from './support/devices.js';

let api: InProcessApi;
let provider: Awaited<ReturnType<typeof providerAt>>;
const root = () => new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
const staged = async () => (await root().listObjects('atoll-staging', `_api/${provider.id}/`)).map((o) => o.key).sort();
const uploadRows = async () => (await api.deps.pool.query<{ id: string }>('SELECT id FROM uploads WHERE provider_id = $1 ORDER BY id', [provider.id])).rows.map((r) => r.id);
/** Nothing staged or recorded since `before` (the running writer may consume earlier staged objects meanwhile). */
async function nothingNew(before: { staged: string[]; rows: string[] }): Promise<void> {
  expect((await staged()).filter((k) => !before.staged.includes(k))).toEqual([]);
  expect(await uploadRows()).toEqual(before.rows);
}
const terms = { sha256: createHash('sha256').update('Atoll test terms v1').digest('hex') };

async function licensedDevice(userId: string, opts: { expiresInMs?: number } = {}): Promise<{ client: AtollClient; licenseId: string; expiry: Date }> {
  const { attestation } = await provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId } });
  const client = init({ baseUrl: api.url, storage: memoryStorage() });
  await client.register(attestation);
  await client.token(['license']);
  const expiry = new Date(Date.now() + (opts.expiresInMs ?? 86_400_000));
  const doc = await client.buildLicense({ tables: ['events'], tags: ['app_events'], uses: [{ usecases: ['analytics'], destinations: ['*'] }], terms, expiry });
  const created = await client.signLicense(doc);
  return { client, licenseId: created.id, expiry };
}

beforeAll(async () => {
  api = await startInProcessApi();
  provider = await providerAt(api.url);
});
afterAll(async () => {
  await api[Symbol.asyncDispose]();
});

describe('device uploads', () => {
  it('runs the full device path: attestation → register → token → license → upload → 202, loaded with user_id filled by the server', async () => {
    const userId = `user-${uniq()}`;
    const { client } = await licensedDevice(userId);
    expect((await client.licenseStatus(['events'])).active).toBe(true);
    const r = await client.upload('events', [
      { kind: 'click', value: 1 },
      { kind: 'view', value: 2 },
    ]);
    expect(r.records).toBe(2);
    // The running writer takes the staged file into the lake (and removes it from staging) at once: read the rows
    // where they end up, with the user id the server filled in.
    const loaded = await waitUntil('upload loaded', async () => {
      const { ingests } = await provider.http.call<{ ingests: Array<{ id: string; records: number; status: string }> }>('GET', '/v1/ingests');
      const mine = ingests.find((i) => i.id === r.uploadId);
      return mine?.status === 'loaded' ? mine : null;
    }, 60_000);
    expect(loaded.records).toBe(2);
    await using fx = await lakeFixture({ poolSize: 2 });
    const rows = await queryTable<{ user_id: string; kind: string; value: bigint }>(fx.lake, rawTableId(provider.id, 'events'), fx.workDir, `SELECT user_id, kind, value FROM rows WHERE user_id = ${literal(userId)} ORDER BY kind`);
    expect(rows.map((x) => ({ ...x, value: Number(x.value) }))).toEqual([
      { user_id: userId, kind: 'click', value: 1 },
      { user_id: userId, kind: 'view', value: 2 },
    ]);
  });

  it('refuses 403 LICENSE_REQUIRED without a license, after it expired, and after it was revoked — nothing staged', async () => {
    const before = { staged: await staged(), rows: await uploadRows() };
    const unlicensed = await registerDevice(api.url, provider, `u-${uniq()}`);
    const send = (token: string) => new AtollHttp(api.url, token).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' });
    expectCode(await send(await deviceToken(api.url, unlicensed)), 403, 'LICENSE_REQUIRED');

    const shortLived = await licensedDevice(`u-${uniq()}`, { expiresInMs: 8_000 });
    expect((await shortLived.client.licenseStatus(['events'])).active).toBe(true);
    await new Promise((r) => setTimeout(r, shortLived.expiry.getTime() - Date.now() + 500));
    await expect(shortLived.client.upload('events', [{ kind: 'a', value: 1 }])).rejects.toMatchObject({ status: 403, code: 'LICENSE_REQUIRED' });

    const revoked = await licensedDevice(`u-${uniq()}`);
    await revoked.client.revokeLicense(revoked.licenseId);
    await expect(revoked.client.upload('events', [{ kind: 'a', value: 1 }])).rejects.toMatchObject({ status: 403, code: 'LICENSE_REQUIRED' });

    await nothingNew(before);
  });

  it('refuses records that carry user_id, malformed NDJSON (naming the line), schema violations, unknown tables and wrong content types', async () => {
    const { client } = await licensedDevice(`u-${uniq()}`);
    const token = await client.token(['upload']);
    const send = (body: string, contentType = 'application/x-ndjson', table = 'events') => new AtollHttp(api.url, token).raw('POST', `/v1/uploads/${table}`, { rawBody: body, contentType });
    const before = { staged: await staged(), rows: await uploadRows() };

    const spoof = await send('{"kind":"a","value":1}\n{"user_id":"victim","kind":"a","value":1}\n');
    expectCode(spoof, 400, 'SCHEMA_VIOLATION');
    expect((spoof.body as { error: { message: string } }).error.message).toMatch(/line 2: user_id is filled by the server/);
    const malformed = await send('{"kind":"a","value":1}\n{"kind":"a",\n');
    expectCode(malformed, 400, 'MALFORMED_NDJSON');
    expect((malformed.body as { error: { message: string; details: { line: number } } }).error).toMatchObject({ details: { line: 2 } });
    const violation = await send('{"kind":"a","value":1}\n{"kind":"a","value":1}\n{"kind":"a","value":"seven"}\n');
    expectCode(violation, 400, 'SCHEMA_VIOLATION');
    expect((violation.body as { error: { message: string } }).error.message).toMatch(/line 3: column value expects an integer/);
    expectCode(await send('{"kind":"a","value":1,"extra":true}\n'), 400, 'SCHEMA_VIOLATION');
    expectCode(await send('[{"kind":"a","value":1},{"kind":"a","value":1.5}]', 'application/json'), 400, 'SCHEMA_VIOLATION');
    expectCode(await send('{"kind":"a","value":1}', 'application/json'), 400, 'MALFORMED_JSON');
    expectCode(await send('kind,value\na,1\n', 'text/csv'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectCode(await send('\n\n'), 400, 'EMPTY_UPLOAD');
    expectCode(await send('{"kind":"a","value":1}\n', 'application/x-ndjson', 'purchases'), 404, 'UNKNOWN_TABLE');

    await nothingNew(before);
  });

  it('accepts a JSON array, and an Idempotency-Key returns the first upload — per device, never another device’s', async () => {
    const a = await licensedDevice(`u-${uniq()}`);
    const b = await licensedDevice(`u-${uniq()}`);
    const key = `k-${uniq()}`;
    const json = (client: AtollClient, token: string) =>
      new AtollHttp(api.url, token).raw('POST', '/v1/uploads/events', { body: [{ kind: 'a', value: 1 }, { kind: 'b', value: 2 }, { kind: 'c', value: 3 }], headers: { 'idempotency-key': key } });
    const first = await json(a.client, await a.client.token(['upload']));
    expect(first.status).toBe(202);
    expect((first.body as { records: number }).records).toBe(3);
    const retry = await a.client.upload('events', [{ kind: 'different', value: 9 }], { idempotencyKey: key });
    expect(retry).toEqual(first.body);
    const other = await json(b.client, await b.client.token(['upload']));
    expect(other.status).toBe(202);
    expect((other.body as { uploadId: string }).uploadId).not.toBe((first.body as { uploadId: string }).uploadId);
  });

  it('stages an upload larger than the in-memory threshold (spilled to a file), record for record', async () => {
    const userId = `u-${uniq()}`;
    const { client } = await licensedDevice(userId);
    const records = Array.from({ length: 4000 }, (_, i) => ({ kind: `k${i}-${'x'.repeat(80)}`, value: i }));
    const r = await client.upload('events', records);
    expect(r.records).toBe(4000);
    const text = (await root().getObject('atoll-staging', `_api/${provider.id}/events/${r.uploadId}.ndjson`)).toString('utf8');
    expect(text.length).toBeGreaterThan(256 * 1024);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { user_id: string; kind: string; value: number });
    expect(lines).toHaveLength(4000);
    expect(lines[3999]).toEqual({ user_id: userId, ...records[3999] });
  });

  it('refuses a body over the size limit with 413 and stores nothing', async () => {
    await using small = await startInProcessApi({ ATOLL_MAX_UPLOAD_BYTES: '2048' });
    const { client } = await licensedDevice(`u-${uniq()}`);
    const before = { staged: await staged(), rows: await uploadRows() };
    const line = `${JSON.stringify({ kind: 'x'.repeat(100), value: 1 })}\n`;
    const big = line.repeat(40);
    const token = await client.token(['upload']);
    expectCode(await new AtollHttp(small.url, token).raw('POST', '/v1/uploads/events', { rawBody: big, contentType: 'application/x-ndjson' }), 413, 'PAYLOAD_TOO_LARGE');
    const array = JSON.stringify(Array.from({ length: 40 }, () => ({ kind: 'x'.repeat(100), value: 1 })));
    expectCode(await new AtollHttp(small.url, token).raw('POST', '/v1/uploads/events', { rawBody: array, contentType: 'application/json' }), 413, 'PAYLOAD_TOO_LARGE');
    await nothingNew(before);
  });

  it('keeps the provider-token path: records carry user_id, no license check', async () => {
    const r = await provider.http.raw('POST', '/v1/uploads/events', { rawBody: '{"user_id":"bulk-user","kind":"a","value":1}\n', contentType: 'application/x-ndjson' });
    expect(r.status).toBe(202);
    expectCode(await provider.http.raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' }), 400, 'SCHEMA_VIOLATION');
  });
});
