import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
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
});
