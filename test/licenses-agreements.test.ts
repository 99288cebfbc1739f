// Supersedes decided under the log's lock, and provider agreements, against the real stack (in-process api): a burst
// of licenses for one subject leaves exactly one live and a log that says who superseded whom; the agreement
// lifecycle with every bad input; and which subjects the consumer filter returns (delegated only once approved).
import { createHash, createPublicKey, randomUUID, sign, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollHttp, clientToken } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { hasLiveLicense, liveLicenseFilter, liveLicenseFilterSql } from '@atoll/licensing';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env, uniq } from './support/actors.js';
import { deviceToken, expectCode, providerAt, registerDevice, type Device } from './support/devices.js';

const LICENSE_BUCKET = env.ATOLL_BUCKET_LICENSES ?? 'atoll-licenses';

let api: InProcessApi;
let op: AtollHttp;

beforeAll(async () => {
  api = await startInProcessApi();
  op = new AtollHttp(api.url, await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!));
});
afterAll(async () => {
  await api[Symbol.asyncDispose]();
});

type Provider = Awaited<ReturnType<typeof providerAt>>;
interface Receipt {
  index: number;
  leaf: string;
}
interface LeafEntry {
  id: string;
  kind: string;
  subject: string;
  supersedes: string[];
  countersignature: { keyId: string; sig: string };
}
interface Agreement {
  id: string;
  providerId: string;
  terms: { sha256: string; uri?: string };
  title: string;
  status: string;
  reason?: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const inDays = (d: number) => new Date(Date.now() + d * 24 * 3600_000).toISOString();

function signed(provider: Provider, d: Device, overrides: Record<string, unknown> = {}): { document: Record<string, unknown>; signature: string } {
  const document = {
    v: 1,
    provider: provider.id,
    subject: d.tid,
    device: d.deviceId,
    tables: ['events'],
    tags: ['purchase_history'],
    uses: [{ usecases: ['analytics'], destinations: ['*'] }],
    terms: { sha256: sha('terms the user read, never submitted as an agreement') },
    expiry: inDays(30),
    issuedAt: new Date().toISOString(),
    ...overrides,
  };
  return { document, signature: sign('sha256', Buffer.from(canonicalize(document)!, 'utf8'), d.keys.privateKey).toString('base64url') };
}

async function deviceHttp(provider: Provider): Promise<{ device: Device; http: AtollHttp }> {
  const device = await registerDevice(api.url, provider, `user-${uniq()}`);
  return { device, http: new AtollHttp(api.url, await deviceToken(api.url, device)) };
}

function delegated(provider: Provider, body: { tids: string[]; sha256: string; usecases?: string[]; destinations: string[]; expiry?: string }) {
  return provider.http.call<{ licenses: Array<{ id: string; tid: string; log: Receipt }> }>('POST', '/v1/licenses/delegated', {
    body: {
      tids: body.tids,
      template: { tables: ['events'], tags: ['purchase_history'], terms: { sha256: body.sha256 } },
      uses: [{ usecases: body.usecases ?? ['analytics'], destinations: body.destinations }],
      expiry: body.expiry ?? inDays(30),
    },
  });
}

describe('supersedes are decided under the log lock', () => {
  it('a burst of licenses for one subject and table leaves exactly one live; the log names who superseded each other one', async () => {
    const provider = await providerAt(api.url);
    const { device, http } = await deviceHttp(provider);
    // Two api replicas (this in-process one and the stack's api process) share the log: half the burst goes to each.
    const replica = new AtollHttp(env.ATOLL_API_URL!, await deviceToken(api.url, device));
    // Ten device-signed licenses and two delegated ones for the same subject and table, all at once.
    const [deviceMade, delegatedMade] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? replica : http).call<{ id: string; log: Receipt }>('POST', '/v1/licenses', { body: signed(provider, device, { tags: [`t${i}`] }) }))),
      Promise.all([0, 1].map(() => delegated(provider, { tids: [device.tid], sha256: sha('burst'), destinations: ['*'] }))),
    ]);
    const made = [...deviceMade, ...delegatedMade.map((d) => d.licenses[0]!)];
    expect(new Set(made.map((m) => m.id)).size).toBe(12);

    // What the log holds at each receipt's index is the receipt's leaf: the entry as (re)countersigned under the lock.
    const leaves = new Map<string, { index: number; entry: LeafEntry; leaf: string }>();
    for (const m of made) {
      const page = await new AtollHttp(api.url).call<{ entries: Array<{ index: number; leaf: string }> }>('GET', `/v1/log/entries?start=${m.log.index}&end=${m.log.index + 1}`);
      expect(page.entries[0]!.leaf).toBe(m.log.leaf);
      const entry = JSON.parse(Buffer.from(m.log.leaf, 'base64').toString('utf8')) as LeafEntry;
      expect(entry.id).toBe(m.id);
      leaves.set(m.id, { index: m.log.index, entry, leaf: m.log.leaf });
    }
    const byIndex = [...leaves.values()].sort((a, b) => a.index - b.index);
    const last = byIndex.at(-1)!;

    // Exactly one live license: the last one logged. Every other one is superseded by exactly one later leaf.
    const { rows } = await api.deps.pool.query<{ id: string; ended_by: string | null; end_reason: string | null }>('SELECT id, ended_by, end_reason FROM licenses WHERE tid = $1', [device.tid]);
    expect(rows).toHaveLength(12);
    expect(rows.filter((r) => r.end_reason === null).map((r) => r.id)).toEqual([last.entry.id]);
    for (const r of rows.filter((x) => x.end_reason !== null)) {
      expect(r.end_reason).toBe('superseded');
      const by = byIndex.filter((l) => l.entry.supersedes.includes(r.id));
      expect(by, `leaves superseding ${r.id}`).toHaveLength(1);
      expect(by[0]!.entry.id).toBe(r.ended_by);
      expect(by[0]!.index).toBeGreaterThan(leaves.get(r.id)!.index);
    }
    // Each leaf supersedes exactly the licenses live just before it: in log order, the previous survivor.
    for (const [i, l] of byIndex.entries()) expect(l.entry.supersedes).toEqual(i === 0 ? [] : [byIndex[i - 1]!.entry.id]);

    // Each countersignature (made under the lock) verifies with the provider's published key, and the WORM archive
    // holds exactly the logged bytes.
    const keys = await new AtollHttp(api.url).call<{ providers: Array<{ id: string; publicKey: string }> }>('GET', `/v1/log/keys?provider=${provider.id}`);
    const s3 = { endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION ?? 'us-east-1' };
    const root = new ObjectStore({ ...s3, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    for (const l of byIndex) {
      const { countersignature, ...body } = l.entry;
      const pk = keys.providers.find((k) => k.id === countersignature.keyId)!;
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pk.publicKey, 'base64').toString('base64url') }, format: 'jwk' });
      expect(verify(null, Buffer.from(canonicalize(body)!), key, Buffer.from(countersignature.sig, 'base64url'))).toBe(true);
      expect((await root.getObject(LICENSE_BUCKET, `entries/license/${l.entry.id}.json`)).toString('base64')).toBe(l.leaf);
    }

    // What the subject sees: one live license.
    const status = await http.call<{ active: boolean; licenses: Array<{ id: string }> }>('GET', '/v1/licenses/status?tables=events');
    expect(status.licenses.map((l) => l.id)).toEqual([last.entry.id]);
  }, 120_000);

  it('a revocation racing a superseding license: the log order decides, and log and index agree', async () => {
    const provider = await providerAt(api.url);
    for (let round = 0; round < 4; round++) {
      const { device, http } = await deviceHttp(provider);
      const first = await http.call<{ id: string }>('POST', '/v1/licenses', { body: signed(provider, device) });
      const [revoke, second] = await Promise.all([
        http.raw('DELETE', `/v1/licenses/${first.id}`),
        http.call<{ id: string; log: Receipt }>('POST', '/v1/licenses', { body: signed(provider, device, { tags: ['other'] }) }),
      ]);
      const supersedes = (JSON.parse(Buffer.from(second.log.leaf, 'base64').toString()) as LeafEntry).supersedes;
      const { rows } = await api.deps.pool.query<{ end_reason: string }>('SELECT end_reason FROM licenses WHERE id = $1', [first.id]);
      if (revoke.status === 200) {
        // Revoked first: the new license supersedes nothing.
        expect(supersedes).toEqual([]);
        expect(rows[0]!.end_reason).toBe('revoked');
      } else {
        // Superseded first: the revocation found it already ended, and nothing was logged for it.
        expectCode(revoke, 409, 'LICENSE_ENDED');
        expect(supersedes).toEqual([first.id]);
        expect(rows[0]!.end_reason).toBe('superseded');
      }
      const live = await api.deps.pool.query('SELECT id FROM licenses WHERE tid = $1 AND ended_at IS NULL', [device.tid]);
      expect(live.rows).toEqual([{ id: second.id }]);
    }
  }, 120_000);
});

describe('provider agreements', () => {
  it('providers submit and list their own; only operators decide; bad input is refused', async () => {
    const provider = await providerAt(api.url);
    const other = await providerAt(api.url);
    const terms = { sha256: sha(`agreement ${uniq()}`), uri: 'https://example.com/agreement' };

    const created = await provider.http.raw('POST', '/v1/agreements', { body: { terms, title: 'Loyalty programme terms', description: 'members share purchases' } });
    expect(created.status).toBe(201);
    const a = created.body as Agreement;
    expect(a).toMatchObject({ status: 'pending', providerId: provider.id, terms, title: 'Loyalty programme terms' });

    // Malformed input: not hex, too short, upper case, missing title, extra member.
    for (const sha256 of ['z'.repeat(64), 'a'.repeat(63), 'A'.repeat(64)]) {
      expectCode(await provider.http.raw('POST', '/v1/agreements', { body: { terms: { sha256 }, title: 't', description: '' } }), 400, 'VALIDATION_FAILED');
    }
    expectCode(await provider.http.raw('POST', '/v1/agreements', { body: { terms: { sha256: sha('x') }, description: '' } }), 400, 'VALIDATION_FAILED');
    expectCode(await provider.http.raw('POST', '/v1/agreements', { body: { terms: { sha256: sha('x') }, title: 't', description: '', status: 'approved' } }), 400, 'VALIDATION_FAILED');
    // The same terms again while pending: a conflict, not a second agreement.
    expectCode(await provider.http.raw('POST', '/v1/agreements', { body: { terms, title: 'again', description: '' } }), 409, 'CONFLICT');
    // Only providers submit; no token at all is refused.
    expectCode(await op.raw('POST', '/v1/agreements', { body: { terms, title: 't', description: '' } }), 403, 'FORBIDDEN');
    expectCode(await new AtollHttp(api.url).raw('GET', '/v1/agreements'), 401, 'UNAUTHENTICATED');

    // Each provider sees its own; the operator sees the queue.
    const mine = await provider.http.call<{ agreements: Agreement[] }>('GET', '/v1/agreements');
    expect(mine.agreements.map((x) => x.id)).toEqual([a.id]);
    expect((await other.http.call<{ agreements: Agreement[] }>('GET', '/v1/agreements')).agreements).toEqual([]);
    expect((await op.call<{ agreements: Agreement[] }>('GET', '/v1/agreements?status=pending')).agreements.map((x) => x.id)).toContain(a.id);
    expectCode(await op.raw('GET', '/v1/agreements?status=maybe'), 400, 'VALIDATION_FAILED');

    // Providers cannot decide, not even on their own agreement; another provider cannot either.
    expectCode(await provider.http.raw('POST', `/v1/agreements/${a.id}/approve`), 403, 'FORBIDDEN');
    expectCode(await other.http.raw('POST', `/v1/agreements/${a.id}/reject`, { body: { reason: 'mine now' } }), 403, 'FORBIDDEN');
    expectCode(await op.raw('POST', `/v1/agreements/${randomUUID()}/approve`), 404, 'NOT_FOUND');
    expectCode(await op.raw('POST', '/v1/agreements/not-a-uuid/approve'), 400, 'VALIDATION_FAILED');
    expectCode(await op.raw('POST', `/v1/agreements/${a.id}/reject`, { body: {} }), 400, 'VALIDATION_FAILED');
    expectCode(await op.raw('POST', `/v1/agreements/${a.id}/revoke`, { body: { reason: 'not approved yet' } }), 409, 'CONFLICT');
    expect((await provider.http.call<{ agreements: Agreement[] }>('GET', '/v1/agreements')).agreements[0]!.status).toBe('pending');

    const approved = await op.call<Agreement>('POST', `/v1/agreements/${a.id}/approve`);
    expect(approved).toMatchObject({ id: a.id, status: 'approved' });
    expectCode(await op.raw('POST', `/v1/agreements/${a.id}/approve`), 409, 'CONFLICT');
    expectCode(await op.raw('POST', `/v1/agreements/${a.id}/reject`, { body: { reason: 'too late' } }), 409, 'CONFLICT');
    expect((await op.call<{ agreements: Agreement[] }>('GET', '/v1/agreements?status=approved')).agreements.map((x) => x.id)).toContain(a.id);
    expect((await op.call<{ agreements: Agreement[] }>('GET', '/v1/agreements?status=pending')).agreements.map((x) => x.id)).not.toContain(a.id);
    expectCode(await provider.http.raw('POST', '/v1/agreements', { body: { terms, title: 'again', description: '' } }), 409, 'CONFLICT');

    // Revocation by the operator, with a reason the provider reads; then the same terms may be submitted afresh.
    const revoked = await op.call<Agreement>('POST', `/v1/agreements/${a.id}/revoke`, { body: { reason: 'terms changed' } });
    expect(revoked).toMatchObject({ status: 'revoked', reason: 'terms changed' });
    expectCode(await op.raw('POST', `/v1/agreements/${a.id}/revoke`, { body: { reason: 'twice' } }), 409, 'CONFLICT');
    const again = await provider.http.call<Agreement>('POST', '/v1/agreements', { body: { terms, title: 'v2', description: '' } });
    const rejected = await op.call<Agreement>('POST', `/v1/agreements/${again.id}/reject`, { body: { reason: 'missing the retention clause' } });
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'missing the retention clause' });
    expectCode(await op.raw('POST', `/v1/agreements/${again.id}/approve`), 409, 'CONFLICT');
    const listed = await provider.http.call<{ agreements: Agreement[] }>('GET', '/v1/agreements?status=rejected');
    expect(listed.agreements.map((x) => [x.id, x.reason])).toEqual([[again.id, 'missing the retention clause']]);
    // Consumers have no business here.
    const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `c ${uniq()}`, useCase: { category: 'analytics', description: 'agreement test consumer' } } });
    const key = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
    expectCode(await new AtollHttp(api.url, await clientToken(env, key.clientId, key.clientSecret)).raw('GET', '/v1/agreements'), 403, 'FORBIDDEN');
  }, 60_000);

  it('publishes the agreement routes in the OpenAPI document', async () => {
    const doc = await new AtollHttp(api.url).call<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
    for (const p of ['/v1/agreements', '/v1/agreements/{id}/approve', '/v1/agreements/{id}/reject', '/v1/agreements/{id}/revoke']) expect(doc.paths, p).toHaveProperty([p]);
  });
});

describe('which subjects count for a consumer', () => {
  it('delegated licenses count only under an approved agreement; expired, revoked, superseded and mis-addressed ones never', async () => {
    const provider = await providerAt(api.url);
    const other = await providerAt(api.url);
    const consumer = (await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `c ${uniq()}`, useCase: { category: 'analytics', description: 'agreement test consumer' } } })).id;
    const otherConsumer = (await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `c ${uniq()}`, useCase: { category: 'analytics', description: 'agreement test consumer' } } })).id;
    const filter = (q: { consumerId?: string; usecase?: string } = {}) =>
      liveLicenseFilter(api.deps.pool, { providerId: provider.id, table: 'events', usecase: q.usecase ?? 'analytics', consumerId: q.consumerId ?? consumer });
    const terms = sha(`delegated ${uniq()}`);
    const t = (name: string) => `${name}-${uniq()}`;

    // Device-signed: counts on the user's signature, whatever happens to agreements.
    const signedDev = await deviceHttp(provider);
    await signedDev.http.call('POST', '/v1/licenses', { body: signed(provider, signedDev.device) });
    // Delegated under `terms`, addressed to this consumer.
    const delegatedTid = t('delegated');
    await delegated(provider, { tids: [delegatedTid], sha256: terms, destinations: [consumer] });
    // Never returned for this consumer and use case: another consumer, another use case.
    const toOther = t('other-consumer');
    await delegated(provider, { tids: [toOther], sha256: terms, destinations: [otherConsumer] });
    const otherUse = await deviceHttp(provider);
    await otherUse.http.call('POST', '/v1/licenses', { body: signed(provider, otherUse.device, { uses: [{ usecases: ['retargeting'], destinations: ['*'] }] }) });
    // Revoked.
    const revokedDev = await deviceHttp(provider);
    const rev = await revokedDev.http.call<{ id: string }>('POST', '/v1/licenses', { body: signed(provider, revokedDev.device) });
    await revokedDev.http.call('DELETE', `/v1/licenses/${rev.id}`);
    // Superseded by a license for the same table that no longer allows analytics.
    const supersededTid = t('superseded');
    await delegated(provider, { tids: [supersededTid], sha256: terms, destinations: ['*'] });
    await delegated(provider, { tids: [supersededTid], sha256: terms, usecases: ['retargeting'], destinations: ['*'] });
    // Expired: live for three seconds.
    const expiredDev = await deviceHttp(provider);
    await expiredDev.http.call('POST', '/v1/licenses', { body: signed(provider, expiredDev.device, { expiry: new Date(Date.now() + 3000).toISOString() }) });
    const expiredTid = t('expired');
    await delegated(provider, { tids: [expiredTid], sha256: terms, destinations: ['*'], expiry: new Date(Date.now() + 3000).toISOString() });
    await new Promise((r) => setTimeout(r, 3500));

    // Before any agreement: only the device-signed subject. The status route lists the delegated license as not counting.
    expect(await filter()).toEqual([signedDev.device.tid]);
    const status = () => provider.http.call<{ active: boolean; licenses: Array<{ counts: boolean }> }>('GET', `/v1/licenses/status?tables=events&tid=${delegatedTid}`);
    expect(await status()).toMatchObject({ active: false, licenses: [{ counts: false }] });
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: delegatedTid, table: 'events' })).toBe(false);
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: signedDev.device.tid, table: 'events' })).toBe(true);

    // Submitted (pending), and the same terms approved for another provider: still not this provider's approval.
    const a = await provider.http.call<Agreement>('POST', '/v1/agreements', { body: { terms: { sha256: terms }, title: 'members', description: '' } });
    const foreign = await other.http.call<Agreement>('POST', '/v1/agreements', { body: { terms: { sha256: terms }, title: 'copycat', description: '' } });
    await op.call('POST', `/v1/agreements/${foreign.id}/approve`);
    expect(await filter()).toEqual([signedDev.device.tid]);

    // Approved: the delegated subject counts, for this consumer and use case only; nothing expired, revoked or superseded.
    await op.call('POST', `/v1/agreements/${a.id}/approve`);
    expect(await filter()).toEqual([signedDev.device.tid, delegatedTid].sort());
    expect(await filter({ consumerId: otherConsumer })).toEqual([signedDev.device.tid, toOther].sort());
    expect(await filter({ usecase: 'retargeting' })).toEqual([otherUse.device.tid, supersededTid].sort());
    expect(await filter({ consumerId: randomUUID() })).toEqual([signedDev.device.tid]);
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: delegatedTid, table: 'events' })).toBe(true);
    expect(await status()).toMatchObject({ active: true, licenses: [{ counts: true }] });
    for (const tid of [expiredTid, expiredDev.device.tid, revokedDev.device.tid]) {
      expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid, table: 'events' }), tid).toBe(false);
    }
    // The SQL form (for callers that embed or stream it) returns the same subjects, here narrowed to a TID list.
    const q = liveLicenseFilterSql({ providerId: provider.id, table: 'events', usecase: 'analytics', consumerId: consumer, tids: [delegatedTid, toOther, expiredTid, 'nobody'] });
    expect((await api.deps.pool.query<{ tid: string }>(q.text, q.values)).rows.map((r) => r.tid)).toEqual([delegatedTid]);

    // Revoking the approval: the delegated subjects stop counting at once; the device-signed one stays.
    await op.call('POST', `/v1/agreements/${a.id}/revoke`, { body: { reason: 'legal review withdrawn' } });
    expect(await filter()).toEqual([signedDev.device.tid]);
    expect(await filter({ usecase: 'retargeting' })).toEqual([otherUse.device.tid]);
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: delegatedTid, table: 'events' })).toBe(false);
    expect(await status()).toMatchObject({ active: false, licenses: [{ counts: false }] });
  }, 120_000);

  it("migration 007's backfill recovers each delegated grant's agreement from the logged entry", async () => {
    const provider = await providerAt(api.url);
    const terms = sha(`backfill ${uniq()}`);
    const tid = `backfill-${uniq()}`;
    const { licenses } = await delegated(provider, { tids: [tid], sha256: terms, destinations: ['*'] });
    const dev = await deviceHttp(provider);
    const own = await dev.http.call<{ id: string }>('POST', '/v1/licenses', { body: signed(provider, dev.device) });
    const sql = await readFile(join(import.meta.dirname, '..', 'packages/db/migrations/007_agreements.sql'), 'utf8');
    const backfill = /UPDATE license_grants[\s\S]*?;/.exec(sql)![0];
    const client = await api.deps.pool.connect();
    try {
      // In a transaction that is rolled back: as if these rows predated the column, then the migration's UPDATE.
      await client.query('BEGIN');
      await client.query('UPDATE license_grants SET agreement_sha256 = NULL WHERE license_id = ANY($1::uuid[])', [[licenses[0]!.id, own.id]]);
      await client.query(backfill);
      const { rows } = await client.query<{ license_id: string; agreement_sha256: string | null }>('SELECT license_id, agreement_sha256 FROM license_grants WHERE license_id = ANY($1::uuid[])', [[licenses[0]!.id, own.id]]);
      expect(new Map(rows.map((r) => [r.license_id, r.agreement_sha256]))).toEqual(new Map([[licenses[0]!.id, terms], [own.id, null]]));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
