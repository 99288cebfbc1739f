// Test fixtures that create real organisations through the public API: an operator, providers and consumers.
import { randomUUID } from 'node:crypto';
import { AtollHttp, clientToken } from '@atoll/stack';

export const env = process.env as Record<string, string>;
export const api = new AtollHttp(env.ATOLL_API_URL!);

export async function operator(): Promise<AtollHttp> {
  return api.withToken(await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!));
}

export const uniq = () => randomUUID().replaceAll('-', '').slice(0, 10);

export async function newProvider(op: AtollHttp): Promise<{ id: string; http: AtollHttp }> {
  const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
  return { id: p.id, http: api.withToken(await clientToken(env, p.clientId, p.clientSecret)) };
}

export async function newConsumer(op: AtollHttp): Promise<{ id: string; http: AtollHttp }> {
  const c = await op.call<{ id: string }>('POST', '/v1/consumers', {
    body: { name: `consumer ${uniq()}`, useCase: { category: 'analytics', description: 'integration test consumer' } },
  });
  const a = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
  return { id: c.id, http: api.withToken(await clientToken(env, a.clientId, a.clientSecret)) };
}

/** A provider with an approved `events` table: user_id, kind, value. */
export async function providerWithTable(op: AtollHttp): Promise<{ id: string; http: AtollHttp; dataset: string }> {
  const p = await newProvider(op);
  const dataset = `events_${uniq()}`;
  const s = await p.http.call<{ id: string }>('POST', '/v1/schemas', {
    body: {
      table: 'events',
      dataset,
      columns: [
        { name: 'user_id', type: 'string', role: 'user_id' },
        { name: 'kind', type: 'string' },
        { name: 'value', type: 'long' },
      ],
    },
  });
  await op.call('POST', `/v1/schemas/${s.id}/approve`);
  return { ...p, dataset };
}
