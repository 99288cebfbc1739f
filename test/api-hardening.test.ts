// Hardening of the api as a caller meets it: rate limits per API key (shared by replicas through Redis), per device
// token and per anonymous IP, each a 429 RATE_LIMITED in the SPEC shape with Retry-After; body limits; a timeout for
// requests that never finish arriving; security headers; and Redis running with its append-only file.
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollHttp, clientToken } from '@atoll/stack';
import { env, operator, uniq } from './support/actors.js';
import { deviceToken, registerDevice } from './support/devices.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';

const limits = { ATOLL_RATE_LIMIT_CLIENT_MAX: '6', ATOLL_RATE_LIMIT_DEVICE_MAX: '4', ATOLL_RATE_LIMIT_ANONYMOUS_MAX: '40', ATOLL_RATE_LIMIT_WINDOW_MS: '60000' };
let a: InProcessApi;
let b: InProcessApi;
let op: AtollHttp;

function expectRateLimited(r: { status: number; body: unknown; headers: Headers }, limit: number): void {
  expect(r.status).toBe(429);
  const { error } = r.body as { error: { code: string; message: string; details: { limit: number } } };
  expect(error.code).toBe('RATE_LIMITED');
  expect(error.message).toMatch(/retry after \d+ s/);
  expect(error.details.limit).toBe(limit);
  const retryAfter = Number(r.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

beforeAll(async () => {
  [a, b] = await Promise.all([startInProcessApi(limits), startInProcessApi(limits)]);
  op = await operator();
});
afterAll(async () => {
  await a?.[Symbol.asyncDispose]();
  await b?.[Symbol.asyncDispose]();
});

describe('rate limits', () => {
  it('counts an API key across api replicas (Redis) and answers 429 RATE_LIMITED with Retry-After', async () => {
    // A fresh provider: its own client id, so nothing else counts against it.
    const p = await op.call<{ clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
    const token = await clientToken(env, p.clientId, p.clientSecret);
    const onA = new AtollHttp(a.url, token);
    const onB = new AtollHttp(b.url, token);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await onA.raw('GET', '/v1/ingests')).status, (await onB.raw('GET', '/v1/ingests')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expectRateLimited(await onA.raw('GET', '/v1/ingests'), 6);
    expectRateLimited(await onB.raw('GET', '/v1/ingests'), 6);
    // Another key is not affected by this one's limit (the operator may not list ingests: 403, not 429).
    const opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
    expect((await new AtollHttp(a.url, opToken).raw('GET', '/v1/ingests')).status).toBe(403);
  });

  it('counts a device token in the replica that serves it, apart from its provider', async () => {
    const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
    const provider = { http: new AtollHttp(env.ATOLL_API_URL!, await clientToken(env, p.clientId, p.clientSecret)) };
    const device = await registerDevice(a.url, provider, `user-${uniq()}`);
    const onA = new AtollHttp(a.url, await deviceToken(a.url, device));
    for (let i = 0; i < 4; i++) expect((await onA.raw('GET', '/v1/licenses/status?tables=events')).status).toBe(200);
    expectRateLimited(await onA.raw('GET', '/v1/licenses/status?tables=events'), 4);
    // The other replica keeps its own count for devices: no Redis round trip on the device path.
    expect((await new AtollHttp(b.url, await deviceToken(b.url, device)).raw('GET', '/v1/licenses/status?tables=events')).status).toBe(200);
  });

  it('limits calls without a token per IP, and never the health probes', async () => {
    await using c = await startInProcessApi({ ...limits, ATOLL_RATE_LIMIT_ANONYMOUS_MAX: '3' });
    const anon = new AtollHttp(c.url);
    for (let i = 0; i < 3; i++) expect((await anon.raw('GET', '/.well-known/jwks.json')).status).toBe(200);
    expectRateLimited(await anon.raw('GET', '/.well-known/jwks.json'), 3);
    expectRateLimited(await anon.raw('GET', '/v1/log/checkpoint'), 3);
    for (let i = 0; i < 5; i++) expect((await anon.raw('GET', '/healthz')).status).toBe(200);
  });
});

describe('body limits', () => {
  it('refuses bodies over the limit on JSON, form and catalog routes, creating nothing', async () => {
    await using c = await startInProcessApi({ ATOLL_MAX_BODY_BYTES: '2048' });
    const opOnC = new AtollHttp(c.url, (await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!)));
    const name = `big-${uniq()}-${'x'.repeat(4096)}`;
    const r = await opOnC.raw('POST', '/v1/providers', { body: { name } });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'the body is larger than allowed' } });
    const form = await new AtollHttp(c.url).raw('POST', '/v1/oauth/token', { rawBody: `grant_type=x&assertion=${'a'.repeat(20_000)}`, contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(413);
    expect(form.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const ns = `big_${uniq()}`;
    const iceberg = await opOnC.raw('POST', '/iceberg/v1/namespaces', { body: { namespace: [ns], properties: { pad: 'x'.repeat(4096) } } });
    // The catalog answers in the Iceberg REST error model, which has no 413 type: a BadRequestException naming the limit.
    expect(iceberg.status).toBe(400);
    const { error } = iceberg.body as { error: { type: string; code: number; message: string } };
    expect([error.type, error.code]).toEqual(['BadRequestException', 400]);
    expect(error.message).toMatch(/too large/i);
    expect((await opOnC.raw('GET', `/iceberg/v1/namespaces/${ns}`)).status).toBe(404);
  });
});

describe('request timeout', () => {
  it('answers 408 REQUEST_TIMEOUT in the SPEC shape when a body never finishes arriving, and closes', async () => {
    await using c = await startInProcessApi({ ATOLL_REQUEST_TIMEOUT_MS: '1000' });
    const { port } = new URL(c.url);
    const started = Date.now();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /v1/devices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"attestation":');
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as unknown;
    expect(body).toEqual({ error: { code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' } });
  });
});

describe('oversized headers', () => {
  it('answer 431 in the SPEC shape, and in the Iceberg REST error model under /iceberg', async () => {
    const { port } = new URL(a.url);
    const send = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
        let text = '';
        socket.on('data', (d) => (text += d.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    const bodyOf = (reply: string) => JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as unknown;
    const atoll = await send('/v1/ingests');
    expect(atoll).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(atoll)).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: 'the request headers are larger than allowed' } });
    const iceberg = await send('/iceberg/v1/namespaces');
    expect(iceberg).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(iceberg)).toEqual({ error: { message: 'the request headers are larger than allowed', type: 'BadRequestException', code: 431 } });
  });
});

describe('security headers', () => {
  it('sends a deny-all content policy and the usual protections on JSON, errors and 429s; /docs gets its own policy', async () => {
    for (const path of ['/healthz', '/v1/nope']) {
      const r = await fetch(`${a.url}${path}`);
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(r.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('x-powered-by')).toBeNull();
    }
    const docs = await fetch(`${a.url}/docs/static/index.html`);
    expect(docs.status).toBe(200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    expect(csp).toContain('script-src');
    expect(csp).not.toContain('upgrade-insecure-requests');
  });
});

describe('redis', () => {
  it('runs with the append-only file, fsynced every second, as deployments do', async () => {
    const redis = new Redis(env.ATOLL_REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    } finally {
      redis.disconnect();
    }
  });
});
