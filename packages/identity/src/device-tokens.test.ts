import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AtollError } from '@atoll/errors';
import { DeviceTokenIssuer } from './device-tokens.js';
import { SigningKeyRing, type SqlRunner } from './signing-keys.js';
import { keysFromConfig } from '@atoll/kek';

/** The key table in memory: the one INSERT and SELECT the ring makes. */
function memorySql(): SqlRunner {
  const rows: Array<{ kid: string; public_jwk: unknown; private_key: Buffer; created_at: Date }> = [];
  return {
    async query(text, values = []) {
      if (text.startsWith('INSERT')) {
        rows.push({ kid: values[0] as string, public_jwk: JSON.parse(values[1] as string), private_key: values[2] as Buffer, created_at: new Date() });
        return { rows: [] };
      }
      return { rows: [...rows].reverse() };
    },
  };
}

afterEach(() => vi.useRealTimers());

describe('device access tokens', () => {
  const issuer = 'http://api.test';
  const make = () => new DeviceTokenIssuer({ keys: new SigningKeyRing({ sql: memorySql(), keks: keysFromConfig({ ATOLL_KEK: 'k'.repeat(43) }) }), issuer });

  it('signs (node:crypto) tokens that jose verifies against the published JWKS, with the claims of RFC 9068', async () => {
    const tokens = make();
    const deviceId = randomUUID();
    const issued = await tokens.issueAccessToken({ deviceId, tid: 'tid-1', providerId: 'p-1', scopes: ['upload'] });
    const { payload, protectedHeader } = await jwtVerify(issued.token, createLocalJWKSet(await tokens.jwks()), { issuer, audience: issuer, typ: 'at+jwt', algorithms: ['ES256'] });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'tid-1', did: deviceId, prv: 'p-1', scp: 'upload', jti: issued.jti });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(await tokens.verifyAccessToken(issued.token)).toMatchObject({ kind: 'device', deviceId, tid: 'tid-1', providerId: 'p-1', scopes: ['upload'] });
  });

  it('remembers a verified token only until it expires, and never a token that failed', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const tokens = make();
    const issued = await tokens.issueAccessToken({ deviceId: randomUUID(), tid: 't', providerId: 'p', scopes: ['license', 'upload'] });
    await tokens.verifyAccessToken(issued.token);
    // A caller mutating its copy does not change what the next request is told.
    (await tokens.verifyAccessToken(issued.token)).scopes.pop();
    expect((await tokens.verifyAccessToken(issued.token)).scopes).toEqual(['license', 'upload']);
    vi.setSystemTime(Date.now() + 906_000);
    await expect(tokens.verifyAccessToken(issued.token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const [h, p] = issued.token.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`;
    for (let i = 0; i < 2; i++) await expect(tokens.verifyAccessToken(forged)).rejects.toBeInstanceOf(AtollError);
    expect(tokens.isOwnToken(forged)).toBe(true);
  });
});
