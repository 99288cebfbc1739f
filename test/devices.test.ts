// Device identity and tokens against the real stack (in-process api): registration, the JWT-bearer grant, the JWKS,
// revocation within a second, and every attack of issue 4 refused with its code.
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { AtollHttp } from '@atoll/stack';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env, uniq } from './support/actors.js';
import { JWT_BEARER, assertion, deviceKeys, deviceToken, expectCode, proofFor, providerAt, registerDevice, tokenEndpoint, tokenRequest, type Device } from './support/devices.js';

let api: InProcessApi;
let provider: Awaited<ReturnType<typeof providerAt>>;
let audience: string;

beforeAll(async () => {
  api = await startInProcessApi();
  provider = await providerAt(api.url);
  audience = await tokenEndpoint(api.url);
});
afterAll(async () => {
  await api[Symbol.asyncDispose]();
});

const anon = () => new AtollHttp(api.url);
const bearer = (token: string) => new AtollHttp(api.url, token);

describe('registration', () => {
  it('registers a device for the attested user and returns its TID, the same the provider sees', async () => {
    const userId = `user-${uniq()}`;
    const d = await registerDevice(api.url, provider, userId);
    expect(d.deviceId).toMatch(/^[0-9a-f-]{36}$/);
    const { tids } = await provider.http.call<{ tids: Record<string, string> }>('POST', '/v1/users/tids', { body: { userIds: [userId, 'someone-else'] } });
    expect(tids[userId]).toBe(d.tid);
    expect(tids['someone-else']).not.toBe(d.tid);
    // The TID is the keyed HMAC of (provider, user id) with the writer's key: bulk rows and device rows meet.
    expect(d.tid).toBe(createHmac('sha256', env.ATOLL_TID_KEY!).update(provider.id).update('\u0000').update(userId).digest('hex').slice(0, 32));
    // A user may hold several devices.
    const second = await registerDevice(api.url, provider, userId);
    expect(second.tid).toBe(d.tid);
    expect(second.deviceId).not.toBe(d.deviceId);
  });

  it('refuses a reused attestation, a tampered one, a proof by another key, and non-RSA-2048 keys', async () => {
    const { attestation } = await provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId: `u-${uniq()}` } });
    const keys = deviceKeys();
    const other = deviceKeys();
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation, publicKey: keys.publicKeyPem, proof: proofFor(other, attestation) } }), 400, 'INVALID_PROOF');
    const small = deviceKeys(1024);
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation, publicKey: small.publicKeyPem, proof: proofFor(small, attestation) } }), 400, 'INVALID_DEVICE_KEY');
    const big = deviceKeys(3072);
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation, publicKey: big.publicKeyPem, proof: proofFor(big, attestation) } }), 400, 'INVALID_DEVICE_KEY');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation, publicKey: ec, proof: 'AAAA' } }), 400, 'INVALID_DEVICE_KEY');

    // Another user's id pasted into the attestation breaks the provider's statement.
    const [h, p, s] = attestation.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'victim' })).toString('base64url')}.${s}`;
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation: forged, publicKey: keys.publicKeyPem, proof: proofFor(keys, forged) } }), 400, 'INVALID_ATTESTATION');

    const first = await anon().raw('POST', '/v1/devices', { body: { attestation, publicKey: keys.publicKeyPem, proof: proofFor(keys, attestation) } });
    expect(first.status).toBe(201);
    const again = deviceKeys();
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation, publicKey: again.publicKeyPem, proof: proofFor(again, attestation) } }), 409, 'ATTESTATION_USED');
  });

  it('refuses an expired attestation, an access token passed as an attestation, and attestations asked for by non-providers', async () => {
    const d = await registerDevice(api.url, provider, `u-${uniq()}`);
    const token = await deviceToken(api.url, d);
    const keys = deviceKeys();
    expectCode(await anon().raw('POST', '/v1/devices', { body: { attestation: token, publicKey: keys.publicKeyPem, proof: proofFor(keys, token) } }), 400, 'INVALID_ATTESTATION');
    // A device cannot vouch for a user id, not even its own.
    expectCode(await bearer(token).raw('POST', '/v1/devices/attestations', { body: { userId: 'me' } }), 401, 'UNAUTHENTICATED');
    expectCode(await anon().raw('POST', '/v1/devices/attestations', { body: { userId: 'me' } }), 401, 'UNAUTHENTICATED');

    const { kid, privateKey } = await api.deps.deviceTokens.keys.current();
    const expired = await new SignJWT({ prv: provider.id })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'atoll-attestation+jwt' })
      .setIssuer(env.ATOLL_API_URL!)
      .setAudience(`${env.ATOLL_API_URL!}/v1/devices`)
      .setSubject('late-user')
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(privateKey);
    const r = await anon().raw('POST', '/v1/devices', { body: { attestation: expired, publicKey: keys.publicKeyPem, proof: proofFor(keys, expired) } });
    expectCode(r, 400, 'INVALID_ATTESTATION');
    expect((r.body as { error: { message: string } }).error.message).toMatch(/expired/);
  });
});

describe('tokens', () => {
  let d: Device;
  beforeAll(async () => {
    d = await registerDevice(api.url, provider, `u-${uniq()}`);
  });

  it('issues an ES256 access token with iss, aud, scp, sub = TID, jti and exp ≤ 15 min, verifiable with the JWKS', async () => {
    const r = await tokenRequest(api.url, { grant_type: JWT_BEARER, assertion: await assertion(d, audience) });
    expect(r.status).toBe(200);
    const body = r.body as { access_token: string; token_type: string; expires_in: number };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBeLessThanOrEqual(900);
    const jwks = (await anon().call<JSONWebKeySet>('GET', '/.well-known/jwks.json'));
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer: env.ATOLL_API_URL!, audience: env.ATOLL_API_URL! });
    expect(protectedHeader.alg).toBe('ES256');
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload.sub).toBe(d.tid);
    expect(payload.scp).toBe('license upload');
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(900);
  });

  it('refuses a replayed assertion (same jti) with 400 ASSERTION_REPLAYED', async () => {
    const a = await assertion(d, audience);
    expect((await tokenRequest(api.url, { grant_type: JWT_BEARER, assertion: a })).status).toBe(200);
    expectCode(await tokenRequest(api.url, { grant_type: JWT_BEARER, assertion: a }), 400, 'ASSERTION_REPLAYED');
  });

  it('refuses forged, unsigned, HS256-with-the-public-key, wrong-audience, long-lived, expired and other-device assertions', async () => {
    const grant = (a: string) => tokenRequest(api.url, { grant_type: JWT_BEARER, assertion: a });
    const stranger = deviceKeys();
    expectCode(await grant(await assertion(d, audience, { key: stranger.privateKey })), 400, 'INVALID_GRANT');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: d.deviceId, sub: d.deviceId, aud: audience, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url')}.`;
    expectCode(await grant(none), 400, 'INVALID_GRANT');
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(d.deviceId)
      .setSubject(d.deviceId)
      .setAudience(audience)
      .setJti(randomUUID())
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(d.keys.publicKeyPem));
    expectCode(await grant(hs), 400, 'INVALID_GRANT');
    expectCode(await grant(await assertion(d, 'https://elsewhere.example/token')), 400, 'INVALID_GRANT');
    expectCode(await grant(await assertion(d, audience, { expSec: 3600 })), 400, 'INVALID_GRANT');
    expectCode(await grant(await assertion(d, audience, { expSec: -60 })), 400, 'INVALID_GRANT');
    // An assertion naming another device, signed with this device's key.
    const victim = await registerDevice(api.url, provider, `u-${uniq()}`);
    expectCode(await grant(await assertion(d, audience, { iss: victim.deviceId, sub: victim.deviceId })), 400, 'INVALID_GRANT');
    expectCode(await grant(await assertion(d, audience, { sub: victim.deviceId })), 400, 'INVALID_GRANT');
    expectCode(await grant(await assertion(d, audience, { iss: randomUUID(), sub: undefined })), 400, 'INVALID_GRANT');
    expectCode(await tokenRequest(api.url, { grant_type: 'client_credentials', assertion: await assertion(d, audience) }), 400, 'UNSUPPORTED_GRANT_TYPE');
  });

  it('refuses tampered, unsigned, HS256, wrong-aud, wrong-iss, expired and wrong-scope access tokens on device routes', async () => {
    const token = await deviceToken(api.url, d);
    const upload = (t: string) => bearer(t).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' });
    // The genuine token passes authentication (and then meets the license check).
    expectCode(await upload(token), 403, 'LICENSE_REQUIRED');

    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = decodeJwt(token);
    const header = decodeProtectedHeader(token);
    const reencode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expectCode(await upload(`${h}.${reencode({ ...claims, sub: 'someone-else' })}.${s}`), 401, 'UNAUTHENTICATED');
    expectCode(await upload(`${reencode({ ...header, alg: 'none' })}.${p}.`), 401, 'UNAUTHENTICATED');
    const jwks = await anon().call<{ keys: object[] }>('GET', '/.well-known/jwks.json');
    const hs = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', kid: header.kid!, typ: 'at+jwt' }).sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    expectCode(await upload(hs), 401, 'UNAUTHENTICATED');

    // Validly signed with Atoll's own key, but wrong in one claim each.
    const { kid, privateKey } = await api.deps.deviceTokens.keys.current();
    const signed = (over: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
    expect((await upload(await signed({}))).status).toBe(403); // control: the re-signed copy is accepted
    expectCode(await upload(await signed({ aud: 'atoll-api' })), 401, 'UNAUTHENTICATED');
    expectCode(await upload(await signed({ iss: `${env.ATOLL_KEYCLOAK_URL!}/realms/atoll` })), 401, 'UNAUTHENTICATED');
    expectCode(await upload(await signed({ exp: Math.floor(Date.now() / 1000) - 60 })), 401, 'UNAUTHENTICATED');
    expectCode(await upload(await signed({ scp: 'license' })), 403, 'INSUFFICIENT_SCOPE');
    // An attestation is signed by the same key ring but is not an access token.
    const { attestation } = await provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId: 'x' } });
    expectCode(await upload(attestation), 401, 'UNAUTHENTICATED');

    // A token asked for with scope=license only cannot upload.
    expectCode(await upload(await deviceToken(api.url, d, 'license')), 403, 'INSUFFICIENT_SCOPE');
    // Device tokens never open provider-only routes.
    expectCode(await bearer(token).raw('GET', '/v1/ingests'), 401, 'UNAUTHENTICATED');
  });

  it('publishes the keys and the OAuth metadata; a rotated key signs new tokens while old tokens still verify', async () => {
    const before = await deviceToken(api.url, d);
    const newKid = await api.deps.deviceTokens.keys.rotate();
    const after = await deviceToken(api.url, d);
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect(decodeProtectedHeader(before).kid).not.toBe(newKid);
    const jwks = await anon().call<JSONWebKeySet>('GET', '/.well-known/jwks.json');
    const kids = jwks.keys.map((k) => k.kid);
    expect(kids).toContain(newKid);
    expect(kids).toContain(decodeProtectedHeader(before).kid);
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d');
    for (const t of [before, after]) expectCode(await bearer(t).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' }), 403, 'LICENSE_REQUIRED');
    // Private halves are stored encrypted: the table never holds a PKCS#8 PEM.
    const { rows } = await api.deps.pool.query<{ private_key: Buffer }>('SELECT private_key FROM token_signing_keys WHERE kid = $1', [newKid]);
    expect(rows[0]!.private_key.toString('latin1')).not.toMatch(/PRIVATE KEY|MIG/);
    const meta = await anon().call<{ token_endpoint: string; jwks_uri: string; grant_types_supported: string[] }>('GET', '/.well-known/oauth-authorization-server');
    expect(meta.token_endpoint).toBe(`${env.ATOLL_API_URL!}/v1/oauth/token`);
    expect(meta.grant_types_supported).toEqual([JWT_BEARER]);
    expect(meta.jwks_uri).toBe(`${env.ATOLL_API_URL!}/.well-known/jwks.json`);
  });
});

describe('revocation', () => {
  it("makes a revoked device's live tokens fail within one second, and its assertions refused", async () => {
    const userId = `u-${uniq()}`;
    const d = await registerDevice(api.url, provider, userId);
    const token = await deviceToken(api.url, d);
    const probe = () => bearer(token).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' });
    expectCode(await probe(), 403, 'LICENSE_REQUIRED');
    // A second api replica (its own process state, shared Postgres and Redis) must see the revocation too.
    await using replica = await startInProcessApi();
    const onReplica = () => new AtollHttp(replica.url, token).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' });
    expectCode(await onReplica(), 403, 'LICENSE_REQUIRED');
    const t0 = performance.now();
    const del = await provider.http.raw('DELETE', `/v1/devices/${d.deviceId}`);
    expect(del.status).toBe(204);
    // SPEC §5: within one second on every replica. A replica learns of the revocation from the change feed, so its
    // answer may lag the DELETE by a few milliseconds: ask until both refuse, and time it.
    const refusedBy = async (ask: () => ReturnType<typeof probe>) => {
      for (;;) {
        const r = await ask();
        if (r.status === 401 || performance.now() - t0 > 2_000) return r;
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const [here, there] = await Promise.all([refusedBy(probe), refusedBy(onReplica)]);
    const elapsed = performance.now() - t0;
    expectCode(here, 401, 'DEVICE_REVOKED');
    expectCode(there, 401, 'DEVICE_REVOKED');
    expect(elapsed).toBeLessThan(1000);
    console.log(`revocation: DELETE → token refused on both replicas ${elapsed.toFixed(1)} ms after the DELETE was sent`);
    expectCode(await tokenRequest(api.url, { grant_type: JWT_BEARER, assertion: await assertion(d, audience) }), 400, 'INVALID_GRANT');
  });

  it("lets another device of the same user revoke, but not another user's device or another provider", async () => {
    const userId = `u-${uniq()}`;
    const lost = await registerDevice(api.url, provider, userId);
    const phone = await registerDevice(api.url, provider, userId);
    const stranger = await registerDevice(api.url, provider, `u-${uniq()}`);
    const lostToken = await deviceToken(api.url, lost);
    expectCode(await bearer(await deviceToken(api.url, stranger)).raw('DELETE', `/v1/devices/${lost.deviceId}`), 404, 'NOT_FOUND');
    const otherProvider = await providerAt(api.url);
    expectCode(await otherProvider.http.raw('DELETE', `/v1/devices/${lost.deviceId}`), 404, 'NOT_FOUND');
    expect((await bearer(await deviceToken(api.url, phone, 'license')).raw('DELETE', `/v1/devices/${lost.deviceId}`)).status).toBe(204);
    expectCode(await bearer(lostToken).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"a","value":1}\n', contentType: 'application/x-ndjson' }), 401, 'DEVICE_REVOKED');
    // The revoked device cannot revoke back.
    expectCode(await bearer(lostToken).raw('DELETE', `/v1/devices/${phone.deviceId}`), 401, 'DEVICE_REVOKED');
  });
});
