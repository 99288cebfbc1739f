import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { AtollError } from '@atoll/errors';
import { KeycloakVerifier } from './keycloak.js';

// A local stand-in for the realm's JWKS endpoint: the verifier under test is real, only the key server is ours.
let server: Server;
let base: string;
let key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    if (req.url === '/realms/atoll/protocol/openid-connect/certs') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const claims = { azp: 'provider-1', atoll_org: 'org-1', realm_access: { roles: ['provider', 'offline_access'] } };

function token(opts: { iss?: string; aud?: string; exp?: number; extra?: Record<string, unknown> } = {}): Promise<string> {
  return new SignJWT({ ...claims, ...(opts.extra ?? {}) })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(opts.iss ?? `${base}/realms/atoll`)
    .setAudience(opts.aud ?? 'atoll-api')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(key);
}

async function rejection(t: string): Promise<AtollError> {
  const v = new KeycloakVerifier({ url: base, realm: 'atoll', audience: 'atoll-api' });
  try {
    await v.verify(t);
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    return e as AtollError;
  }
  throw new Error('accepted');
}

describe('KeycloakVerifier', () => {
  it('accepts a realm token and reads client, roles and org', async () => {
    const v = new KeycloakVerifier({ url: base, realm: 'atoll', audience: 'atoll-api' });
    expect(await v.verify(await token())).toEqual({ kind: 'client', clientId: 'provider-1', roles: ['provider'], orgId: 'org-1', authentication: {} });
  });

  it('reads how a human signed in (acr, auth_time) and ignores malformed values', async () => {
    const v = new KeycloakVerifier({ url: base, realm: 'atoll', audience: 'atoll-api' });
    expect((await v.verify(await token({ extra: { acr: 'mfa', auth_time: 1_700_000_000 } }))).authentication).toEqual({ acr: 'mfa', authTime: 1_700_000_000 });
    expect((await v.verify(await token({ extra: { acr: 2, auth_time: '1700000000' } }))).authentication).toEqual({});
  });

  it('refuses expired, foreign-issuer, wrong-audience, unsigned and HS256-with-public-key tokens', async () => {
    expect((await rejection(await token({ exp: Math.floor(Date.now() / 1000) - 60 }))).message).toMatch(/expired/);
    expect((await rejection(await token({ iss: 'http://evil.example/realms/atoll' }))).code).toBe('UNAUTHENTICATED');
    expect((await rejection(await token({ aud: 'someone-else' }))).code).toBe('UNAUTHENTICATED');
    const none = `${Buffer.from('{"alg":"none","kid":"k1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, iss: `${base}/realms/atoll`, aud: 'atoll-api', exp: 9e9 })).toString('base64url')}.`;
    expect((await rejection(none)).code).toBe('UNAUTHENTICATED');
    const hs = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(`${base}/realms/atoll`)
      .setAudience('atoll-api')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    expect((await rejection(hs)).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a valid token that carries no Atoll role or organisation', async () => {
    expect((await rejection(await token({ extra: { realm_access: { roles: ['offline_access'] } } }))).code).toBe('FORBIDDEN');
    expect((await rejection(await token({ extra: { atoll_org: undefined } }))).code).toBe('FORBIDDEN');
  });
});
