// The list routes the portal reads (issue 14), through the public API against the real stack: an operator's buyers
// with their use cases and a status filter; a consumer's cleanrooms (never a key) and subscriptions, each consumer
// seeing only its own; a consumer person's own application (apply, see the decision, apply again); the wrong role and
// bad input refused with the SPEC's error shape.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newConsumer, newProvider, operator, uniq } from './support/actors.js';
import type { Http } from './support/market.js';
import { newPerson, realmAdmin, signIn, type Person } from './support/step-up.js';

let op: Http;
let a: { id: string; http: Http };
let b: { id: string; http: Http };

function expectError(r: { status: number; body: unknown }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect((r.body as { error: { code: string } }).error.code).toBe(code);
}

const people: Person[] = [];

beforeAll(async () => {
  op = await operator();
  a = await newConsumer(op);
  b = await newConsumer(op);
});

afterAll(async () => {
  await Promise.allSettled(people.map(async (p) => p[Symbol.asyncDispose]()));
});

/** A consumer person (a realm user, signed in at Keycloak) acting for the organisation `org`. */
async function consumerPerson(org: string): Promise<Http> {
  const person = await newPerson(await realmAdmin(), { role: 'consumer', org });
  people.push(person);
  return api.withToken((await signIn(person)).accessToken);
}

describe('GET /v1/consumers (operator)', () => {
  it('lists buyers with their use case, filtered by status', async () => {
    const description = `Churn modelling on licensed events ${uniq()}`;
    const { id } = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `Listed ${uniq()}`, useCase: { category: 'analytics', description } } });
    const pending = await op.call<{ consumers: Array<{ id: string; status: string; useCase: { category: string; description: string }; approvedAt: string | null }> }>('GET', '/v1/consumers?status=pending');
    expect(pending.consumers.find((c) => c.id === id)).toMatchObject({ status: 'pending', useCase: { category: 'analytics', description }, approvedAt: null });
    expect(pending.consumers.every((c) => c.status === 'pending')).toBe(true);
    expect(pending.consumers.some((c) => c.id === a.id)).toBe(false);
    const approved = await op.call<{ consumers: Array<{ id: string; status: string; approvedAt: string | null }> }>('GET', '/v1/consumers?status=approved');
    expect(approved.consumers.find((c) => c.id === a.id)?.approvedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const all = await op.call<{ consumers: Array<{ id: string }> }>('GET', '/v1/consumers');
    expect(all.consumers.map((c) => c.id)).toEqual(expect.arrayContaining([id, a.id]));
  });

  it('refuses an unknown status and any caller but an operator', async () => {
    expectError(await op.raw('GET', '/v1/consumers?status=everyone'), 400, 'VALIDATION_FAILED');
    expectError(await a.http.raw('GET', '/v1/consumers'), 403, 'FORBIDDEN');
  });
});

describe('GET /v1/cleanrooms and GET /v1/subscriptions (consumer)', () => {
  it("lists the consumer's own cleanrooms without any key, and nobody else's", async () => {
    const created = await a.http.call<{ id: string; bucket: string; secretAccessKey: string }>('POST', '/v1/cleanrooms', { body: { name: 'listed room' } });
    const mine = await a.http.raw('GET', '/v1/cleanrooms');
    expect(mine.status).toBe(200);
    const rooms = (mine.body as { cleanrooms: Array<Record<string, unknown>> }).cleanrooms;
    expect(rooms.find((c) => c.id === created.id)).toMatchObject({ name: 'listed room', bucket: created.bucket, endpoint: expect.stringMatching(/^https?:\/\//) as string, region: expect.any(String) as string });
    const text = JSON.stringify(mine.body);
    expect(text).not.toContain(created.secretAccessKey);
    expect(text).not.toMatch(/accessKeyId|secretAccessKey/);
    const theirs = await b.http.call<{ cleanrooms: Array<{ id: string }> }>('GET', '/v1/cleanrooms');
    expect(theirs.cleanrooms.some((c) => c.id === created.id)).toBe(false);
  });

  it('lists no subscription for a consumer that bought none, and refuses other roles', async () => {
    expect(await b.http.call('GET', '/v1/subscriptions')).toEqual({ subscriptions: [] });
    expectError(await op.raw('GET', '/v1/subscriptions'), 403, 'FORBIDDEN');
    expectError(await op.raw('GET', '/v1/cleanrooms'), 403, 'FORBIDDEN');
  });
});

describe('GET /v1/schemas (provider: its own; operator: all)', () => {
  it('lists schemas with their state and reason, filtered by status, each provider only its own', async () => {
    const p = await newProvider(op);
    const other = await newProvider(op);
    const columns = [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'plan', type: 'string' }];
    const kept = await p.http.call<{ id: string }>('POST', '/v1/schemas', { body: { table: 'plans', dataset: `plans_${uniq()}`, columns } });
    const refused = await p.http.call<{ id: string }>('POST', '/v1/schemas', { body: { table: 'trials', dataset: `trials_${uniq()}`, columns } });
    await op.call('POST', `/v1/schemas/${refused.id}/reject`, { body: { reason: 'no trial data yet' } });
    const own = await p.http.call<{ schemas: Array<{ id: string; status: string; reason: string | null; columns: unknown[]; providerId: string }> }>('GET', '/v1/schemas');
    expect(own.schemas.map((x) => [x.id, x.status, x.reason]).sort()).toEqual([[kept.id, 'pending', null], [refused.id, 'rejected', 'no trial data yet']].sort());
    expect(own.schemas.find((x) => x.id === kept.id)?.columns).toEqual(columns);
    expect((await other.http.call<{ schemas: unknown[] }>('GET', '/v1/schemas')).schemas).toEqual([]);
    const pending = await op.call<{ schemas: Array<{ id: string; status: string }> }>('GET', '/v1/schemas?status=pending');
    expect(pending.schemas.some((x) => x.id === kept.id)).toBe(true);
    expect(pending.schemas.some((x) => x.id === refused.id)).toBe(false);
    expectError(await op.raw('GET', '/v1/schemas?status=maybe'), 400, 'VALIDATION_FAILED');
    expectError(await a.http.raw('GET', '/v1/schemas'), 403, 'FORBIDDEN');
  });
});

describe('GET /v1/licenses/summary (provider)', () => {
  it("counts only the provider's own licenses and refuses other roles", async () => {
    const fresh = await newProvider(op);
    expect(await fresh.http.call('GET', '/v1/licenses/summary')).toEqual({ counts: { live: 0, expired: 0, revoked: 0, superseded: 0 }, liveByTable: [], revocations: [], erasures: [] });
    expectError(await a.http.raw('GET', '/v1/licenses/summary'), 403, 'FORBIDDEN');
    expectError(await op.raw('GET', '/v1/licenses/summary'), 403, 'FORBIDDEN');
  });
});

describe('GET and PUT /v1/consumers/me (a consumer applies and reads the decision)', () => {
  type Application = { id: string; name: string; status: string; useCase: { category: string; description: string }; reason: string | null; decidedAt: string | null };

  it('applies with a use case, cannot buy while pending, reads a rejection with its reason, applies again and is approved', async () => {
    const org = randomUUID();
    const me = await consumerPerson(org);
    expectError(await me.raw('GET', '/v1/consumers/me'), 404, 'NOT_FOUND');
    // Bad input: refused, and nothing written.
    expectError(await me.raw('PUT', '/v1/consumers/me', { body: { name: 'Short', useCase: { category: 'analytics', description: 'too short' } } }), 400, 'VALIDATION_FAILED');
    expectError(await me.raw('PUT', '/v1/consumers/me', { body: { name: 'Bad', useCase: { category: 'everything', description: 'a long enough description' } } }), 400, 'VALIDATION_FAILED');
    expectError(await me.raw('GET', '/v1/consumers/me'), 404, 'NOT_FOUND');

    const description = `Store footfall forecasting ${uniq()}`;
    const first = await me.raw('PUT', '/v1/consumers/me', { body: { name: 'Footfall Ltd', useCase: { category: 'analytics', description } } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: org, name: 'Footfall Ltd', status: 'pending', useCase: { category: 'analytics', description }, reason: null, decidedAt: null });
    // Only approved consumers buy.
    expectError(await me.raw('GET', '/v1/datasets'), 403, 'CONSUMER_NOT_APPROVED');
    expectError(await me.raw('GET', '/v1/cleanrooms'), 403, 'CONSUMER_NOT_APPROVED');
    // The operator sees the pending buyer with its use case.
    const pending = await op.call<{ consumers: Application[] }>('GET', '/v1/consumers?status=pending');
    expect(pending.consumers.find((c) => c.id === org)).toMatchObject({ status: 'pending', useCase: { category: 'analytics', description }, reason: null });

    await op.call('POST', `/v1/consumers/${org}/reject`, { body: { reason: 'describe which stores and for how long' } });
    const rejected = await me.call<Application>('GET', '/v1/consumers/me');
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'describe which stores and for how long' });
    expect(rejected.decidedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await op.call<{ consumers: Application[] }>('GET', '/v1/consumers?status=rejected')).consumers.find((c) => c.id === org)?.reason).toBe('describe which stores and for how long');

    const again = await me.raw('PUT', '/v1/consumers/me', { body: { name: 'Footfall Ltd', useCase: { category: 'analytics', description: `${description}: 40 stores, 12 months` } } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'pending', reason: null, decidedAt: null, useCase: { description: `${description}: 40 stores, 12 months` } });

    await op.call('POST', `/v1/consumers/${org}/approve`);
    expect(await me.call<Application>('GET', '/v1/consumers/me')).toMatchObject({ status: 'approved', reason: null });
    expect((await me.raw('GET', '/v1/datasets')).status).toBe(200);
    // An approved organisation cannot rewrite its use case behind the operator's back.
    expectError(await me.raw('PUT', '/v1/consumers/me', { body: { name: 'Footfall Ltd', useCase: { category: 'ai_training', description: 'train a model on it all' } } }), 409, 'CONFLICT');
    expect((await me.call<Application>('GET', '/v1/consumers/me')).useCase.category).toBe('analytics');
  }, 120_000);

  it('refuses an account whose organisation is not a UUID, and every role but consumer', async () => {
    const odd = await consumerPerson('not-an-organisation');
    expectError(await odd.raw('GET', '/v1/consumers/me'), 403, 'FORBIDDEN');
    expectError(await odd.raw('PUT', '/v1/consumers/me', { body: { name: 'Odd', useCase: { category: 'analytics', description: 'a long enough description' } } }), 403, 'FORBIDDEN');
    expectError(await op.raw('GET', '/v1/consumers/me'), 403, 'FORBIDDEN');
    expectError(await op.raw('PUT', '/v1/consumers/me', { body: { name: 'Op', useCase: { category: 'analytics', description: 'a long enough description' } } }), 403, 'FORBIDDEN');
    expectError(await api.raw('GET', '/v1/consumers/me'), 401, 'UNAUTHENTICATED');
  }, 60_000);
});
