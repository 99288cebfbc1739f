// ATOLL_KEK rotation against the real PostgreSQL: signing keys sealed under the old KEK (and rows sealed the way
// versions before ATOLL_KEK did, under a key derived from ATOLL_TID_KEY) are re-wrapped by `atoll rotate-kek`; after
// it, the new KEK alone opens every key, and the keys still sign what their published public keys verify. Runs in a
// scratch schema: the stack's own keys are never touched.
import { createCipheriv, createPublicKey, randomBytes, randomUUID, sign, verify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { SignJWT, exportPKCS8, generateKeyPair, importJWK, jwtVerify, exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningKeyRing } from '@atoll/identity';
import { KeyEncryptionKeys, legacyKey } from '@atoll/kek';
import { SigningKeyStore } from '@atoll/licensing';
import { env } from './support/actors.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const schema = `kek_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
const scopedUrl = () => {
  const u = new URL(env.ATOLL_DATABASE_URL!);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
};
const TID_KEY = randomBytes(32).toString('base64url');
const OLD = randomBytes(32).toString('base64url');
const NEW = randomBytes(32).toString('base64url');

let admin: pg.Pool;
let pool: pg.Pool;

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: env.ATOLL_DATABASE_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  // The tables of migrations 005 and 006, without their foreign keys (no providers needed here).
  await admin.query(`CREATE TABLE ${schema}.token_signing_keys (LIKE public.token_signing_keys INCLUDING ALL)`);
  await admin.query(`CREATE TABLE ${schema}.signing_keys (LIKE public.signing_keys INCLUDING ALL)`);
  pool = new pg.Pool({ connectionString: scopedUrl(), max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin?.end();
});

/** A token key row as versions before ATOLL_KEK wrote it: AES-256-GCM under HKDF(ATOLL_TID_KEY), the kid as AAD. */
async function insertLegacyTokenKey(): Promise<string> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', legacyKey(TID_KEY, 'atoll token signing keys v1').key, iv);
  c.setAAD(Buffer.from(kid));
  const body = Buffer.concat([c.update(Buffer.from(await exportPKCS8(pair.privateKey), 'utf8')), c.final()]);
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  await pool.query('INSERT INTO token_signing_keys (kid, public_jwk, private_key, created_at) VALUES ($1, $2, $3, now() - interval \'1 hour\')', [kid, JSON.stringify(jwk), Buffer.concat([iv, c.getAuthTag(), body])]);
  return kid;
}

async function sealedHeaders(): Promise<Array<string | null>> {
  const t = await pool.query<{ private_key: Buffer }>('SELECT private_key FROM token_signing_keys');
  const l = await pool.query<{ private_key_enc: Buffer }>('SELECT private_key_enc FROM signing_keys');
  return [...t.rows.map((r) => r.private_key), ...l.rows.map((r) => r.private_key_enc)].map((b) => KeyEncryptionKeys.kekIdOf(b));
}

describe('ATOLL_KEK rotation', () => {
  it('re-wraps every sealed signing key under the new KEK; the keys keep signing what their public keys verify', async () => {
    const oldKeks = new KeyEncryptionKeys({ current: OLD });
    const newKeks = new KeyEncryptionKeys({ current: NEW });
    // Before: one token key from before ATOLL_KEK, one sealed under the old KEK; the log's and a provider's key.
    const legacyKid = await insertLegacyTokenKey();
    const before = new SigningKeyRing({ sql: pool, keks: oldKeks, legacySecret: TID_KEY });
    const kid = await before.rotate();
    const providerId = randomUUID();
    const store = new SigningKeyStore({ db: pool, keks: oldKeks, logName: `kek.test/${schema}` });
    const logKey = await store.logKey();
    const providerKey = await store.providerKey(providerId);
    expect((await sealedHeaders()).sort()).toEqual([null, oldKeks.currentId, oldKeks.currentId, oldKeks.currentId].sort());
    const jwks = await before.jwks();
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([kid, legacyKid].sort());

    // Rotate: the new value becomes ATOLL_KEK, the old one ATOLL_KEK_PREVIOUS; the command re-wraps.
    const rotateEnv = { ...process.env, ATOLL_DATABASE_URL: scopedUrl(), ATOLL_TID_KEY: TID_KEY, ATOLL_KEK: NEW, ATOLL_KEK_PREVIOUS: OLD };
    const first = await run(process.execPath, [join(root, 'scripts', 'atoll.mjs'), 'rotate-kek'], { env: rotateEnv });
    expect(first.stdout).toBe(`re-wrapped under key-encryption key ${newKeks.currentId}: 2 token signing key(s), 2 license signing key(s)\n`);
    expect(first.stdout + first.stderr).not.toContain(NEW);
    expect(await sealedHeaders()).toEqual([newKeks.currentId, newKeks.currentId, newKeks.currentId, newKeks.currentId]);
    const again = await run(process.execPath, [join(root, 'scripts', 'atoll.mjs'), 'rotate-kek'], { env: rotateEnv });
    expect(again.stdout).toContain(': 0 token signing key(s), 0 license signing key(s)');

    // After: the new KEK alone (no previous KEK, no TID key) opens every key, and each still matches its public key.
    const after = new SigningKeyRing({ sql: pool, keks: newKeks });
    const signer = await after.current();
    expect(signer.kid).toBe(kid);
    const token = await new SignJWT({ probe: true }).setProtectedHeader({ alg: 'ES256', kid }).sign(signer.privateKey);
    const published = jwks.keys.find((k) => k.kid === kid)!;
    expect((await jwtVerify(token, await importJWK(published, 'ES256'))).payload.probe).toBe(true);
    const afterStore = new SigningKeyStore({ db: pool, keks: newKeks, logName: `kek.test/${schema}` });
    for (const [key, again2] of [[logKey, await afterStore.logKey()], [providerKey, await afterStore.providerKey(providerId)]] as const) {
      expect(again2.id).toBe(key.id);
      const msg = Buffer.from(`checkpoint ${key.id}`);
      const sig = sign(null, msg, again2.privateKey);
      const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey.toString('base64url') }, format: 'jwk' });
      expect(verify(null, msg, pub, sig)).toBe(true);
    }
    // The old KEK alone no longer opens anything, and says which KEK it would need.
    await expect(new SigningKeyRing({ sql: pool, keks: oldKeks }).current()).rejects.toThrow(new RegExp(`key-encryption key ${newKeks.currentId}`));
  });

  it('refuses to run without a KEK, naming the variable', async () => {
    const r = await run(process.execPath, [join(root, 'scripts', 'atoll.mjs'), 'rotate-kek'], { env: { ...process.env, ATOLL_DATABASE_URL: scopedUrl(), ATOLL_TID_KEY: TID_KEY, ATOLL_KEK: '' } }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('ATOLL_KEK');
  });
});
