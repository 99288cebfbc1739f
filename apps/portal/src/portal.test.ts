// Unit tests of the portal's own logic (no browser): the per-day usage behind the chart, schema column lines, the
// engine snippets, and how API answers become messages.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, type Problem } from './api';
import { daily } from './pages/Billing';
import { parseColumns } from './pages/Schemas';
import { snippets } from './components/Snippets';
import type { SubscriptionView } from '@atoll/market/listings';

const run = (finishedAt: string | null, recordsAdded: number | null, status = 'succeeded') => ({
  id: `r-${finishedAt}-${recordsAdded}`,
  status,
  startedAt: finishedAt ?? '2026-11-01T00:00:00Z',
  finishedAt,
  recordsAdded,
  recordsRemoved: 0,
  snapshotId: null,
  reason: null,
  error: null,
});

describe('daily usage', () => {
  it('sums the records each finished run added, per day and subscription, within the month only', () => {
    const views: SubscriptionView[] = [
      { id: 'a', status: 'active', table: 'ta', cleanroomId: 'c', datasets: [], runs: [run('2026-11-03T10:00:00Z', 5), run('2026-11-03T23:00:00Z', 7), run('2026-10-31T23:59:59Z', 100)] },
      { id: 'b', status: 'active', table: 'tb', cleanroomId: 'c', datasets: [], runs: [run('2026-11-03T01:00:00Z', 2), run(null, null, 'running'), run('2026-11-10T00:00:00Z', 0)] },
    ];
    expect(daily('2026-11', views)).toEqual([{ day: '2026-11-03', bySubscription: { a: 12, b: 2 } }]);
    expect(daily('2026-12', views)).toEqual([]);
  });
});

describe('schema columns', () => {
  it('reads one "name type [role]" per line and skips blank lines', () => {
    expect(parseColumns('user_id string user_id\n\n  spend   decimal(10,2)\n')).toEqual([
      { name: 'user_id', type: 'string', role: 'user_id' },
      { name: 'spend', type: 'decimal(10,2)' },
    ]);
  });
});

describe('snippets', () => {
  it('name the table and read keys from the environment, never embedding one', () => {
    const all = snippets({ apiUrl: 'https://atoll.example', tokenUrl: 'https://id.example/token', endpoint: 'https://s3.example:9000', region: 'eu-west-1', bucket: 'atoll-cr-1', cleanroomId: '0a-1b', table: 'delivery' });
    expect(all.map((s) => s.engine)).toEqual(['DuckDB', 'PyIceberg', 'Spark']);
    expect(all[0]!.code).toContain("iceberg_scan('s3://atoll-cr-1/delivery')");
    expect(all[0]!.code).toContain("ENDPOINT 's3.example:9000'");
    expect(all[0]!.code).toContain('USE_SSL true');
    expect(all[1]!.code).toContain('"cr_0a1b.delivery"');
    expect(all[2]!.code).toContain('atoll.cr_0a1b.delivery');
    expect(all[0]!.code).toContain("KEY_ID getenv('ATOLL_CR_KEY_ID'), SECRET getenv('ATOLL_CR_SECRET')");
    expect(all[1]!.code).toContain("os.environ['ATOLL_CLIENT_SECRET']");
  });
});

describe('API answers as messages', () => {
  const session = { accessToken: 'h.eyJ9.s', idToken: null, expiresAt: Date.now() + 60_000, roles: ['consumer'], org: 'o', username: 'u', acr: null, authTime: null };
  const storage = new Map<string, string>();
  afterEach(() => vi.unstubAllGlobals());

  async function problemOf(answer: () => Promise<Response>): Promise<Problem> {
    vi.stubGlobal('sessionStorage', { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v), removeItem: (k: string) => storage.delete(k) });
    storage.set('atoll.portal.session', JSON.stringify(session));
    vi.stubGlobal('fetch', vi.fn(answer));
    try {
      await call('GET', '/v1/datasets');
    } catch (e) {
      return e as Problem;
    }
    throw new Error('the call succeeded');
  }

  const json = (status: number, body: unknown) => async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('an expired token, the wrong role, a refusal with its code, a network failure, a body without JSON', async () => {
    expect(await problemOf(json(401, { error: { code: 'UNAUTHENTICATED', message: 'the token has expired' } }))).toMatchObject({ kind: 'expired', message: 'Your session has expired. Sign in again to continue.' });
    expect(await problemOf(json(403, { error: { code: 'FORBIDDEN', message: 'this operation needs the operator role' } }))).toMatchObject({ kind: 'forbidden', status: 403 });
    expect(await problemOf(json(422, { error: { code: 'COHORT_TOO_SMALL', message: 'the query matches 10 distinct licensed subjects; at least 25 are required' } }))).toMatchObject({ kind: 'api', code: 'COHORT_TOO_SMALL', message: expect.stringContaining('at least 25') as string });
    expect(await problemOf(async () => Promise.reject(new TypeError('Failed to fetch')))).toMatchObject({ kind: 'network' });
    expect(await problemOf(async () => new Response('<html>bad gateway</html>', { status: 502 }))).toMatchObject({ kind: 'api', status: 502, message: 'The API answered HTTP 502 without an explanation.' });
  });

  it('refuses to call at all once the session has run out', async () => {
    storage.set('atoll.portal.session', JSON.stringify({ ...session, expiresAt: Date.now() - 1 }));
    vi.stubGlobal('sessionStorage', { getItem: (k: string) => storage.get(k) ?? null, setItem: () => undefined, removeItem: () => undefined });
    const fetchSpy = vi.fn();
    vi.stubGlobal('fetch', fetchSpy);
    await expect(call('GET', '/v1/datasets')).rejects.toMatchObject({ kind: 'expired' });
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});
