import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignJWT, UnsecuredJWT } from 'jose';
import { AtollError } from '@atoll/errors';
import { assertionIssuer, deviceKeyFingerprint, parseDevicePublicKey, verifyDeviceAssertion, verifyProofOfPossession } from './device-keys.js';

const rsa = (bits: number, publicExponent = 65537) => generateKeyPairSync('rsa', { modulusLength: bits, publicExponent });
const pem = (k: ReturnType<typeof rsa>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    return (e as AtollError).code;
  }
  throw new Error('accepted');
}

describe('device keys', () => {
  const device = rsa(2048);
  it('accepts RSA-2048/65537 only, and names keys by their DER, not their PEM formatting', () => {
    const key = parseDevicePublicKey(pem(device));
    expect(deviceKeyFingerprint(key)).toBe(deviceKeyFingerprint(parseDevicePublicKey(pem(device).replaceAll('\n', '\r\n'))));
    for (const bad of [pem(rsa(1024)), pem(rsa(2048, 3)), 'not a key', generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()]) {
      expect(() => parseDevicePublicKey(bad)).toThrow(AtollError);
    }
  });

  it('verifies a proof of possession over the exact UTF-8 bytes', () => {
    const key = parseDevicePublicKey(pem(device));
    const message = 'attestation-ü';
    const proof = sign('sha256', Buffer.from(message, 'utf8'), device.privateKey).toString('base64url');
    expect(verifyProofOfPossession({ key, message, signature: proof })).toBe(true);
    expect(verifyProofOfPossession({ key, message: 'attestation-u', signature: proof })).toBe(false);
    expect(verifyProofOfPossession({ key, message, signature: `${proof}=` })).toBe(false);
  });

  it('checks assertions: RS256 by this key, iss/sub, aud, jti and a short life', async () => {
    const key = parseDevicePublicKey(pem(device));
    const id = randomUUID();
    const aud = 'http://api/v1/oauth/token';
    const make = (o: { iss?: string; sub?: string; aud?: string; exp?: number; jti?: string | null; signer?: ReturnType<typeof rsa> } = {}) => {
      const j = new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(o.iss ?? id).setSubject(o.sub ?? id).setAudience(o.aud ?? aud).setExpirationTime(o.exp ?? Math.floor(Date.now() / 1000) + 60);
      if (o.jti !== null) j.setJti(o.jti ?? randomUUID());
      return j.sign((o.signer ?? device).privateKey);
    };
    const ok = await make();
    expect(assertionIssuer(ok)).toBe(id);
    expect((await verifyDeviceAssertion({ assertion: ok, key, deviceId: id, audience: aud })).jti).toMatch(/-/);
    expect(await refusal(verifyDeviceAssertion({ assertion: await make({ signer: rsa(2048) }), key, deviceId: id, audience: aud }))).toBe('INVALID_GRANT');
    expect(await refusal(verifyDeviceAssertion({ assertion: await make({ sub: randomUUID() }), key, deviceId: id, audience: aud }))).toBe('INVALID_GRANT');
    expect(await refusal(verifyDeviceAssertion({ assertion: await make({ aud: 'http://other' }), key, deviceId: id, audience: aud }))).toBe('INVALID_GRANT');
    expect(await refusal(verifyDeviceAssertion({ assertion: await make({ exp: Math.floor(Date.now() / 1000) + 600 }), key, deviceId: id, audience: aud }))).toBe('INVALID_GRANT');
    expect(await refusal(verifyDeviceAssertion({ assertion: await make({ jti: null }), key, deviceId: id, audience: aud }))).toBe('INVALID_GRANT');
    expect(() => assertionIssuer('garbage')).toThrow(AtollError);
  });

  it('refuses assertions that are not RS256 by the device key: none, HS256 keyed with the public key, crit, tampering', async () => {
    const key = parseDevicePublicKey(pem(device));
    const id = randomUUID();
    const aud = 'http://api/v1/oauth/token';
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: id, sub: id, aud, jti: randomUUID(), exp: now + 60 };
    const check = (assertion: string) => refusal(verifyDeviceAssertion({ assertion, key, deviceId: id, audience: aud }));
    expect(await check(new UnsecuredJWT(claims).encode())).toBe('INVALID_GRANT');
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(pem(device)));
    expect(await check(hs)).toBe('INVALID_GRANT');
    const crit = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', crit: ['exp'] }).sign(device.privateKey).catch(() => null);
    if (crit) expect(await check(crit)).toBe('INVALID_GRANT');
    const ok = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(device.privateKey);
    const [h, , sig] = ok.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: now + 120 })).toString('base64url')}.${sig}`;
    expect(await check(forged)).toBe('INVALID_GRANT');
    expect(await check(`${ok}.x`)).toBe('INVALID_GRANT');
    expect(await check('a.b.c')).toBe('INVALID_GRANT');
    // Expired (beyond the 5 s clock tolerance), not yet valid, and a payload that is not an object.
    expect(await check(await new SignJWT({ ...claims, exp: now - 10 }).setProtectedHeader({ alg: 'RS256' }).sign(device.privateKey))).toBe('INVALID_GRANT');
    expect(await check(await new SignJWT({ ...claims, nbf: now + 60 }).setProtectedHeader({ alg: 'RS256' }).sign(device.privateKey))).toBe('INVALID_GRANT');
    const arrayPayload = `${Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url')}.${Buffer.from('[1]').toString('base64url')}`;
    expect(await check(`${arrayPayload}.${sign('sha256', Buffer.from(arrayPayload), device.privateKey).toString('base64url')}`)).toBe('INVALID_GRANT');
    // An audience list naming the token endpoint is fine, as RFC 7523 allows.
    expect((await verifyDeviceAssertion({ assertion: await new SignJWT({ ...claims, aud: ['x', aud] }).setProtectedHeader({ alg: 'RS256' }).sign(device.privateKey), key, deviceId: id, audience: aud })).jti).toBe(claims.jti);
  });
});
