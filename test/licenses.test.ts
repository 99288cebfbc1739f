// Licenses and the transparency log against the real stack (in-process api): device-signed licenses countersigned and
// logged, every bad document refused with nothing stored, revocation and supersede as new log entries, proofs checked
// by an independent RFC 9162 re-implementation and by `npx atoll verify-license`, and WORM storage in MinIO.
import { createHash, createPublicKey, randomUUID, sign, verify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollHttp, clientToken } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { MemoryTree, hasLiveLicense, liveLicenseFilter } from '@atoll/licensing';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env, uniq } from './support/actors.js';
import { deviceToken, expectCode, providerAt, registerDevice, type Device } from './support/devices.js';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..');
const LICENSE_BUCKET = env.ATOLL_BUCKET_LICENSES ?? 'atoll-licenses';

let api: InProcessApi;
let provider: Awaited<ReturnType<typeof providerAt>>;

beforeAll(async () => {
  api = await startInProcessApi();
  provider = await providerAt(api.url);
});
afterAll(async () => {
  await api[Symbol.asyncDispose]();
});

const anon = () => new AtollHttp(api.url);

// ---- an independent RFC 9162 / C2SP checker, written from the RFC text and sharing no code with @atoll/licensing ----
const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leafHashOf = (leaf: Buffer) => h(Buffer.from([0]), leaf);
function rootFromInclusion(index: number, size: number, leafHash: Buffer, proof: Buffer[]): Buffer | null {
  // RFC 9162 §2.1.3.2 with explicit bit arithmetic.
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return null;
    if ((fn & 1) === 1 || fn === sn) {
      r = h(Buffer.from([1]), p, r);
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = h(Buffer.from([1]), r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
}
function consistent(size1: number, size2: number, root1: Buffer, root2: Buffer, proof: Buffer[]): boolean {
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while ((fn & 1) === 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      fr = h(Buffer.from([1]), c, fr);
      sr = h(Buffer.from([1]), c, sr);
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = h(Buffer.from([1]), sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr.equals(root1) && sr.equals(root2) && sn === 0;
}
/** Opens a C2SP signed note with an Ed25519 verifier key `<name>+<hex id>+<base64(0x01‖key)>`. */
function openCheckpoint(note: string, vkey: string): { origin: string; size: number; root: Buffer } {
  // Base64 may itself contain '+': only the first two separate fields.
  const [, name, idHex, keyB64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey) as unknown as [string, string, string, string];
  const raw = Buffer.from(keyB64, 'base64');
  expect(raw[0]).toBe(1);
  expect(h(Buffer.from(`${name}\n`), raw).subarray(0, 4).toString('hex')).toBe(idHex);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.subarray(1).toString('base64url') }, format: 'jwk' });
  const [text, sigs] = note.split('\n\n') as [string, string];
  const m = new RegExp(`^\u2014 ${name} (\\S+)\n$`).exec(sigs);
  if (!m) throw new Error('no signature line by the log key');
  const blob = Buffer.from(m[1]!, 'base64');
  expect(blob.subarray(0, 4).toString('hex')).toBe(idHex);
  if (!verify(null, Buffer.from(`${text}\n`), key, blob.subarray(4))) throw new Error('checkpoint signature does not verify');
  const [origin, size, root] = text.split('\n') as [string, string, string];
  return { origin, size: Number(size), root: Buffer.from(root, 'base64') };
}

function flipB64(s: string, byte: number, mask: number): string {
  const b = Buffer.from(s, 'base64');
  b[byte] = b[byte]! ^ mask;
  return b.toString('base64');
}

// ---- device helpers ----
interface Signed {
  document: Record<string, unknown>;
  signature: string;
}
function documentFor(d: Device, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    provider: provider.id,
    subject: d.tid,
    device: d.deviceId,
    tables: ['events'],
    tags: ['purchase_history'],
    uses: [{ usecases: ['analytics', 'custom:ads_measurement'], destinations: ['*'] }],
    terms: { sha256: createHash('sha256').update('the terms the user read').digest('hex'), uri: 'https://example.com/terms' },
    expiry: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
    issuedAt: new Date().toISOString(),
    ...overrides,
  };
}
function signDoc(d: Device, document: Record<string, unknown>): Signed {
  return { document, signature: sign('sha256', Buffer.from(canonicalize(document)!, 'utf8'), d.keys.privateKey).toString('base64url') };
}
async function deviceHttp(userId = `user-${uniq()}`): Promise<{ device: Device; http: AtollHttp }> {
  const device = await registerDevice(api.url, provider, userId);
  return { device, http: new AtollHttp(api.url, await deviceToken(api.url, device)) };
}
async function logSize(): Promise<number> {
  const { rows } = await api.deps.pool.query<{ n: string }>('SELECT count(*) AS n FROM log_leaves');
  return Number(rows[0]!.n);
}

interface Created {
  id: string;
  document: Record<string, unknown>;
  signature: string;
  countersignature: { keyId: string; alg: string; sig: string };
  log: { index: number; checkpoint: string; inclusionProof: string[]; leaf: string };
}
interface Keys {
  origin: string;
  log: Array<{ verifierKey: string }>;
  providers: Array<{ id: string; providerId: string; publicKey: string; retiredAt: string | null }>;
}

describe('creating a license', () => {
  it('countersigns and logs a device-signed license; the receipt verifies independently and by the CLI', async () => {
    const { device, http } = await deviceHttp();
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: device.tid, table: 'events' })).toBe(false);
    const before = await http.call<{ active: boolean }>('GET', '/v1/licenses/status?tables=events');
    expect(before.active).toBe(false);

    const signed = signDoc(device, documentFor(device));
    const created = await http.call<Created>('POST', '/v1/licenses', { body: signed });
    expect(created.document).toEqual(signed.document);
    expect(created.signature).toBe(signed.signature);

    // The leaf is the canonical JSON of the countersigned entry, carrying the device's signature and public key.
    const leaf = Buffer.from(created.log.leaf, 'base64');
    const entry = JSON.parse(leaf.toString('utf8')) as Record<string, unknown> & { countersignature: { keyId: string; sig: string } };
    expect(canonicalize(entry)).toBe(leaf.toString('utf8'));
    expect(entry).toMatchObject({ kind: 'license', id: created.id, provider: provider.id, subject: device.tid, signature: signed.signature, supersedes: [] });
    const devKey = createPublicKey({ key: Buffer.from(entry.deviceKey as string, 'base64'), format: 'der', type: 'spki' });
    expect(verify('sha256', Buffer.from(canonicalize(signed.document)!), devKey, Buffer.from(signed.signature, 'base64url'))).toBe(true);

    // The provider countersignature verifies with the provider key published at /v1/log/keys.
    const keys = await anon().call<Keys>('GET', `/v1/log/keys?provider=${provider.id}`);
    const pk = keys.providers.find((k) => k.id === entry.countersignature.keyId);
    expect(pk?.providerId).toBe(provider.id);
    const { countersignature, ...body } = entry;
    const providerKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pk!.publicKey, 'base64').toString('base64url') }, format: 'jwk' });
    expect(verify(null, Buffer.from(canonicalize(body)!), providerKey, Buffer.from(countersignature.sig, 'base64url'))).toBe(true);

    // Checkpoint signature and inclusion proof, checked by this file's own RFC 9162 code.
    const cp = openCheckpoint(created.log.checkpoint, keys.log[0]!.verifierKey);
    expect(cp.origin).toBe(keys.origin);
    expect(rootFromInclusion(created.log.index, cp.size, leafHashOf(leaf), created.log.inclusionProof.map((x) => Buffer.from(x, 'base64')))?.equals(cp.root)).toBe(true);
    // The same proof from the public proof endpoint, and the leaf from the entries endpoint.
    const proof = await anon().call<{ hashes: string[] }>('GET', `/v1/log/proofs/inclusion?index=${created.log.index}&size=${cp.size}`);
    expect(proof.hashes).toEqual(created.log.inclusionProof);
    const entries = await anon().call<{ entries: Array<{ index: number; leaf: string }> }>('GET', `/v1/log/entries?start=${created.log.index}&end=${created.log.index + 1}`);
    expect(entries.entries).toEqual([{ index: created.log.index, leaf: created.log.leaf }]);

    // The license is live in the index, for the status route and for consumers' filters.
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: device.tid, table: 'events' })).toBe(true);
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: device.tid, table: 'other' })).toBe(false);
    const status = await http.call<{ active: boolean; licenses: Array<{ id: string }> }>('GET', '/v1/licenses/status?tables=events');
    expect(status.active).toBe(true);
    expect(status.licenses.map((l) => l.id)).toEqual([created.id]);
    const consumer = randomUUID();
    expect(await liveLicenseFilter(api.deps.pool, { providerId: provider.id, table: 'events', usecase: 'analytics', consumerId: consumer, tids: [device.tid, 'nobody'] })).toEqual([device.tid]);
    expect(await liveLicenseFilter(api.deps.pool, { providerId: provider.id, table: 'events', usecase: 'retargeting', consumerId: consumer, tids: [device.tid] })).toEqual([]);

    // Offline: `npx atoll verify-license` with a newer checkpoint and the consistency proof to it.
    await http.call<Created>('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { tables: ['events'], tags: ['x'] })) });
    const newer = await anon().raw('GET', '/v1/log/checkpoint');
    expect(newer.headers.get('content-type')).toMatch(/^text\/plain/);
    const newCp = openCheckpoint(newer.body as string, keys.log[0]!.verifierKey);
    expect(newCp.size).toBeGreaterThan(cp.size);
    const cons = await anon().call<{ hashes: string[] }>('GET', `/v1/log/proofs/consistency?from=${cp.size}&to=${newCp.size}`);
    expect(consistent(cp.size, newCp.size, cp.root, newCp.root, cons.hashes.map((x) => Buffer.from(x, 'base64')))).toBe(true);

    const dir = await mkdtemp(join(tmpdir(), 'atoll-verify-'));
    const allKeys = await anon().call<Keys>('GET', '/v1/log/keys');
    const good = join(dir, 'license.json');
    await writeFile(good, JSON.stringify({ license: created, keys: allKeys, consistency: { checkpoint: newer.body, proof: cons.hashes } }));
    const ok = await run('npx', ['--no', 'atoll', 'verify-license', good, '--json'], { cwd: repoRoot });
    const report = JSON.parse(ok.stdout) as { ok: boolean; checks: Array<{ check: string; ok: boolean }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining(['device signature', 'provider countersignature', 'checkpoint signature', 'inclusion proof', 'consistency proof']),
    );

    // A flipped bit in the leaf, the proof or the newer checkpoint's root: the CLI exits 1.
    const leafBad = Buffer.from(created.log.leaf, 'base64');
    leafBad[40] = leafBad[40]! ^ 0x01;
    const proofBad = [...created.log.inclusionProof];
    // (The log's very first leaf has an empty proof: then a stray extra hash must fail it.)
    if (proofBad.length > 0) proofBad[0] = flipB64(proofBad[0]!, 0, 0x80);
    else proofBad.push(Buffer.alloc(32, 7).toString('base64'));
    const cpLines = (newer.body as string).split('\n');
    cpLines[2] = flipB64(cpLines[2]!, 5, 0x02);
    for (const [name, bundle] of [
      ['leaf', { license: { ...created, log: { ...created.log, leaf: leafBad.toString('base64') } }, keys: allKeys }],
      ['proof', { license: { ...created, log: { ...created.log, inclusionProof: proofBad } }, keys: allKeys }],
      ['newer checkpoint', { license: created, keys: allKeys, consistency: { checkpoint: cpLines.join('\n'), proof: cons.hashes } }],
    ] as const) {
      const f = join(dir, `bad-${name.replace(' ', '-')}.json`);
      await writeFile(f, JSON.stringify(bundle));
      const r = await run('npx', ['--no', 'atoll', 'verify-license', f], { cwd: repoRoot }).then(
        () => 0,
        (e: { code?: number }) => e.code,
      );
      expect(r, name).toBe(1);
    }
  }, 60_000);

  it('refuses tampered, forged, expired, mis-addressed and unapproved-table licenses, storing nothing', async () => {
    const { device, http } = await deviceHttp();
    const other = await deviceHttp();
    const size = await logSize();

    const signed = signDoc(device, documentFor(device));
    const tampered = { ...signed, document: { ...signed.document, uses: [{ usecases: ['ai_training'], destinations: ['*'] }] } };
    expectCode(await http.raw('POST', '/v1/licenses', { body: tampered }), 400, 'SIGNATURE_INVALID');
    // Signed by another device's key (a forgery for this subject).
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(other.device, documentFor(device)) }), 400, 'SIGNATURE_INVALID');
    const sigBytes = Buffer.from(signed.signature, 'base64url');
    sigBytes[10] = sigBytes[10]! ^ 0x01;
    expectCode(await http.raw('POST', '/v1/licenses', { body: { ...signed, signature: sigBytes.toString('base64url') } }), 400, 'SIGNATURE_INVALID');
    expectCode(
      await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { expiry: new Date(Date.now() - 60_000).toISOString(), issuedAt: new Date(Date.now() - 3600_000).toISOString() })) }),
      422,
      'LICENSE_EXPIRED',
    );
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { tables: ['events', 'not_approved'] })) }), 422, 'TABLE_NOT_APPROVED');
    // A valid signature by this device, but for another subject, another device or another provider.
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { subject: other.device.tid })) }), 422, 'LICENSE_INVALID');
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { device: other.device.deviceId })) }), 422, 'LICENSE_INVALID');
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { provider: randomUUID() })) }), 422, 'LICENSE_INVALID');
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { uses: [{ usecases: ['analytics'], destinations: [randomUUID()] }] })) }), 422, 'LICENSE_INVALID');
    // Not the schema: unknown use case, extra member.
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { uses: [{ usecases: ['spying'], destinations: ['*'] }] })) }), 400, 'VALIDATION_FAILED');
    expectCode(await http.raw('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { extra: true })) }), 400, 'VALIDATION_FAILED');
    // Providers cannot sign for a device; no token at all is refused.
    expectCode(await provider.http.raw('POST', '/v1/licenses', { body: signed }), 403, 'FORBIDDEN');
    expectCode(await anon().raw('POST', '/v1/licenses', { body: signed }), 401, 'UNAUTHENTICATED');

    // (Other suites may append meanwhile: look for this subject in the log rather than compare sizes.)
    const inLog = await api.deps.pool.query("SELECT 1 FROM log_leaves WHERE idx >= $1 AND position($2::bytea IN leaf) > 0", [size, Buffer.from(device.tid)]);
    expect(inLog.rows).toHaveLength(0);
    const { rows } = await api.deps.pool.query('SELECT 1 FROM licenses WHERE tid = $1', [device.tid]);
    expect(rows).toHaveLength(0);
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: device.tid, table: 'events' })).toBe(false);

    // A revoked device's token no longer signs licenses, even a perfectly valid one.
    const r = await provider.http.raw('DELETE', `/v1/devices/${other.device.deviceId}`);
    expect(r.status).toBeLessThan(300);
    expectCode(await other.http.raw('POST', '/v1/licenses', { body: signDoc(other.device, documentFor(other.device)) }), 401, 'DEVICE_REVOKED');
  }, 60_000);
});

describe('supersede and revocation', () => {
  it('a newer license supersedes the old one; revocation is a new log entry and the license stops being live', async () => {
    const userId = `user-${uniq()}`;
    const { device, http } = await deviceHttp(userId);
    const first = await http.call<Created>('POST', '/v1/licenses', { body: signDoc(device, documentFor(device)) });
    const second = await http.call<Created>('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { tables: ['events'], tags: ['purchase_history', 'precise_location'] })) });
    const secondEntry = JSON.parse(Buffer.from(second.log.leaf, 'base64').toString()) as { supersedes: string[] };
    expect(secondEntry.supersedes).toEqual([first.id]);
    const status = await http.call<{ licenses: Array<{ id: string }> }>('GET', '/v1/licenses/status');
    expect(status.licenses.map((l) => l.id)).toEqual([second.id]);
    expectCode(await http.raw('DELETE', `/v1/licenses/${first.id}`), 409, 'LICENSE_ENDED');

    // Another user's device cannot see or revoke it; the subject's other device can.
    const stranger = await deviceHttp();
    expectCode(await stranger.http.raw('DELETE', `/v1/licenses/${second.id}`), 404, 'NOT_FOUND');
    const sameUser = await deviceHttp(userId);
    const size = await logSize();
    const revoked = await sameUser.http.call<{ id: string; license: string; log: Created['log'] }>('DELETE', `/v1/licenses/${second.id}`);
    expect(revoked.license).toBe(second.id);
    expect(revoked.log.index).toBeGreaterThanOrEqual(size);
    const leaf = JSON.parse(Buffer.from(revoked.log.leaf, 'base64').toString()) as Record<string, unknown>;
    expect(leaf).toMatchObject({ kind: 'revocation', license: second.id, subject: device.tid, revokedBy: { kind: 'device', id: sameUser.device.deviceId } });
    const fromLog = await anon().call<{ entries: Array<{ leaf: string }> }>('GET', `/v1/log/entries?start=${revoked.log.index}&end=${revoked.log.index + 1}`);
    expect(fromLog.entries[0]!.leaf).toBe(revoked.log.leaf);
    // The original license leaf is untouched: the log only grows.
    const orig = await anon().call<{ entries: Array<{ leaf: string }> }>('GET', `/v1/log/entries?start=${second.log.index}&end=${second.log.index + 1}`);
    expect(orig.entries[0]!.leaf).toBe(second.log.leaf);

    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: device.tid, table: 'events' })).toBe(false);
    expect((await http.call<{ active: boolean }>('GET', '/v1/licenses/status?tables=events')).active).toBe(false);
    expectCode(await http.raw('DELETE', `/v1/licenses/${second.id}`), 409, 'LICENSE_ENDED');

    // The provider may revoke its subjects' licenses too.
    const third = await http.call<Created>('POST', '/v1/licenses', { body: signDoc(device, documentFor(device)) });
    const byProvider = await provider.http.call<{ log: Created['log'] }>('DELETE', `/v1/licenses/${third.id}`);
    expect(JSON.parse(Buffer.from(byProvider.log.leaf, 'base64').toString())).toMatchObject({ revokedBy: { kind: 'provider', id: provider.id } });
    expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid: device.tid, table: 'events' })).toBe(false);
  }, 60_000);
});

describe('delegated licenses and key rotation', () => {
  it("creates the provider's countersigning key with the provider", async () => {
    const op = new AtollHttp(api.url, await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!));
    const p = await op.call<{ id: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
    const keys = await anon().call<Keys>('GET', `/v1/log/keys?provider=${p.id}`);
    expect(keys.providers.filter((k) => k.providerId === p.id && k.retiredAt === null)).toHaveLength(1);
    expect(Buffer.from(keys.providers[0]!.publicKey, 'base64')).toHaveLength(32);
  });

  it("logs the provider's own agreement per TID; rotation keeps old receipts verifiable", async () => {
    const op = new AtollHttp(api.url, await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!));
    const consumer = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `c ${uniq()}`, useCase: { category: 'analytics', description: 'license test consumer' } } });
    const tids = [`tid-${uniq()}`, `tid-${uniq()}`];
    const body = {
      tids,
      template: { tables: ['events'], tags: ['purchase_history'], terms: { sha256: 'a'.repeat(64) } },
      uses: [{ usecases: ['analytics'], destinations: [consumer.id] }],
      expiry: new Date(Date.now() + 3600_000).toISOString(),
    };
    const r = await provider.http.call<{ licenses: Array<{ id: string; tid: string; log: Created['log'] }> }>('POST', '/v1/licenses/delegated', { body });
    expect(r.licenses.map((l) => l.tid)).toEqual(tids);
    // Logged at once, but counting only once an operator approves the provider's agreement with those terms.
    for (const tid of tids) expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid, table: 'events' })).toBe(false);
    const agreement = await provider.http.call<{ id: string }>('POST', '/v1/agreements', { body: { terms: body.template.terms, title: 'test agreement', description: '' } });
    await op.call('POST', `/v1/agreements/${agreement.id}/approve`);
    for (const tid of tids) expect(await hasLiveLicense(api.deps.pool, { providerId: provider.id, tid, table: 'events' })).toBe(true);
    expect(await liveLicenseFilter(api.deps.pool, { providerId: provider.id, table: 'events', usecase: 'analytics', consumerId: consumer.id, tids })).toEqual([...tids].sort());
    expect(await liveLicenseFilter(api.deps.pool, { providerId: provider.id, table: 'events', usecase: 'analytics', consumerId: randomUUID(), tids })).toEqual([]);
    expectCode(await provider.http.raw('POST', '/v1/licenses/delegated', { body: { ...body, template: { ...body.template, tables: ['nope'] } } }), 422, 'TABLE_NOT_APPROVED');
    expectCode(await provider.http.raw('POST', '/v1/licenses/delegated', { body: { ...body, expiry: new Date(Date.now() - 1000).toISOString() } }), 422, 'LICENSE_EXPIRED');

    const before = (JSON.parse(Buffer.from(r.licenses[0]!.log.leaf, 'base64').toString()) as { countersignature: { keyId: string } }).countersignature.keyId;
    const rotated = await provider.http.call<{ keyId: string }>('POST', '/v1/licenses/signing-key/rotate');
    expect(rotated.keyId).not.toBe(before);
    const again = await provider.http.call<{ licenses: Array<{ log: Created['log'] }> }>('POST', '/v1/licenses/delegated', { body: { ...body, tids: [`tid-${uniq()}`] } });
    expect((JSON.parse(Buffer.from(again.licenses[0]!.log.leaf, 'base64').toString()) as { countersignature: { keyId: string } }).countersignature.keyId).toBe(rotated.keyId);

    const keys = await anon().call<Keys>('GET', `/v1/log/keys?provider=${provider.id}`);
    expect(keys.providers.find((k) => k.id === before)?.retiredAt).not.toBeNull();
    const dir = await mkdtemp(join(tmpdir(), 'atoll-verify-'));
    const f = join(dir, 'old.json');
    await writeFile(f, JSON.stringify({ license: r.licenses[0], keys }));
    const out = await run('npx', ['--no', 'atoll', 'verify-license', f], { cwd: repoRoot });
    expect(out.stdout).toMatch(/verified: license/);
  }, 60_000);
});

describe('the log', () => {
  it('concurrent appends keep the stored tree equal to one rebuilt from every leaf', async () => {
    const { device, http } = await deviceHttp();
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => http.call<Created>('POST', '/v1/licenses', { body: signDoc(device, documentFor(device, { tags: [`t${i}`] })) })));
    expect(new Set(made.map((m) => m.log.index)).size).toBe(12);
    const keys = await anon().call<Keys>('GET', '/v1/log/keys');
    const cp = openCheckpoint((await anon().raw('GET', '/v1/log/checkpoint')).body as string, keys.log[0]!.verifierKey);
    const tree = new MemoryTree();
    for (let start = 0; start < cp.size; start += 1000) {
      const page = await anon().call<{ entries: Array<{ index: number; leaf: string }> }>('GET', `/v1/log/entries?start=${start}&end=${Math.min(cp.size, start + 1000)}`);
      for (const e of page.entries) {
        expect(e.index).toBe(tree.size);
        tree.append(Buffer.from(e.leaf, 'base64'));
      }
    }
    expect(tree.size).toBe(cp.size);
    expect(tree.root().equals(cp.root)).toBe(true);
    // Every receipt's own checkpoint is consistent with the latest one.
    for (const m of made) {
      const mine = openCheckpoint(m.log.checkpoint, keys.log[0]!.verifierKey);
      expect(tree.root(mine.size).equals(mine.root)).toBe(true);
      expect(rootFromInclusion(m.log.index, mine.size, leafHashOf(Buffer.from(m.log.leaf, 'base64')), m.log.inclusionProof.map((x) => Buffer.from(x, 'base64')))?.equals(mine.root)).toBe(true);
    }
  }, 60_000);

  it('publishes its routes in the OpenAPI document', async () => {
    const doc = await anon().call<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
    for (const p of ['/v1/log/checkpoint', '/v1/log/entries', '/v1/log/proofs/inclusion', '/v1/log/proofs/consistency', '/v1/log/keys', '/v1/licenses', '/v1/licenses/status', '/v1/licenses/{id}', '/v1/licenses/delegated']) {
      expect(doc.paths, p).toHaveProperty([p]);
    }
  });

  it('refuses out-of-range proofs and entries', async () => {
    const { size } = openCheckpoint((await anon().raw('GET', '/v1/log/checkpoint')).body as string, (await anon().call<Keys>('GET', '/v1/log/keys')).log[0]!.verifierKey);
    expectCode(await anon().raw('GET', `/v1/log/proofs/inclusion?index=${size}&size=${size}`), 400, 'BAD_REQUEST');
    expectCode(await anon().raw('GET', `/v1/log/proofs/inclusion?index=0&size=${size + 1}`), 400, 'BAD_REQUEST');
    expectCode(await anon().raw('GET', `/v1/log/proofs/consistency?from=0&to=${size}`), 400, 'BAD_REQUEST');
    expectCode(await anon().raw('GET', `/v1/log/entries?start=${size}&end=${size + 5}`), 400, 'BAD_REQUEST');
    expectCode(await anon().raw('GET', '/v1/log/entries?start=-1&end=2'), 400, 'VALIDATION_FAILED');
  });

  it('keeps raw entries in an Object-Lock bucket: MinIO refuses to delete them, even for the root user', async () => {
    const { device, http } = await deviceHttp();
    const created = await http.call<Created>('POST', '/v1/licenses', { body: signDoc(device, documentFor(device)) });
    const key = `entries/license/${created.id}.json`;
    const s3 = { endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION ?? 'us-east-1' };
    const root = new ObjectStore({ ...s3, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    const apiUser = new ObjectStore({ ...s3, accessKey: env.ATOLL_S3_API_ACCESS_KEY!, secretKey: env.ATOLL_S3_API_SECRET_KEY! });

    expect((await root.getObject(LICENSE_BUCKET, key)).toString('base64')).toBe(created.log.leaf);
    const stat = await root.client.statObject(LICENSE_BUCKET, key);
    const versionId = stat.versionId!;
    const retention = await root.client.getObjectRetention(LICENSE_BUCKET, key, { versionId });
    expect(retention).toMatchObject({ mode: 'COMPLIANCE' });
    expect(new Date((retention as { retainUntilDate: string }).retainUntilDate).getTime()).toBeGreaterThan(Date.parse(created.document.expiry as string));

    // The api itself may not delete, nor replace the key.
    await expect(apiUser.client.removeObject(LICENSE_BUCKET, key)).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(apiUser.putObject(LICENSE_BUCKET, key, Buffer.from('{}'), { ifNoneMatch: true })).rejects.toThrow();
    // Root cannot delete the locked version, nor shorten its retention (COMPLIANCE mode).
    await expect(root.client.removeObject(LICENSE_BUCKET, key, { versionId })).rejects.toThrow();
    await expect(root.client.putObjectRetention(LICENSE_BUCKET, key, { versionId, mode: 'COMPLIANCE', retainUntilDate: new Date(Date.now() + 86400_000).toISOString() })).rejects.toThrow();
    // Root can write a newer version over the key, but the logged version stays, byte for byte.
    await root.putObject(LICENSE_BUCKET, key, Buffer.from('{"forged":true}'));
    const original = await root.client.getObject(LICENSE_BUCKET, key, { versionId });
    const chunks: Buffer[] = [];
    for await (const c of original) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('base64')).toBe(created.log.leaf);
  }, 60_000);
});
