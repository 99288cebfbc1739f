// Device key material on the server side: RSA-2048 public keys, proofs of possession and JWT-bearer assertions
// (RFC 7523), all verified with node:crypto / jose; devices make and hold the private halves.
import { createHash, createPublicKey, verify, constants, type KeyObject } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { AtollError } from '@atoll/errors';

/** Parses a PEM public key and insists on RSA with a 2048-bit modulus (SPEC §5.1). */
export function parseDevicePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new AtollError('INVALID_DEVICE_KEY', 'publicKey is not a PEM public key');
  }
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'rsa' || details?.modulusLength !== 2048) {
    throw new AtollError('INVALID_DEVICE_KEY', 'publicKey must be an RSA-2048 key');
  }
  if (details.publicExponent !== 65537n) throw new AtollError('INVALID_DEVICE_KEY', 'publicKey must use the public exponent 65537');
  return key;
}

/** SHA-256 of the key's SPKI DER, hex: a stable name for the key that does not depend on PEM formatting. */
export function deviceKeyFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The canonical PEM we store, whatever line breaks the device sent. */
export function canonicalPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** Proof of possession: RSASSA-PKCS1-v1_5 SHA-256 by the device key over the UTF-8 bytes of `message`, base64url. */
export function verifyProofOfPossession(opts: { key: KeyObject; message: string; signature: string }): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.signature)) return false;
  return verify('sha256', Buffer.from(opts.message, 'utf8'), { key: opts.key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(opts.signature, 'base64url'));
}

/** Reads `iss` of an assertion before it is verified, only to find whose key must verify it. */
export function assertionIssuer(assertion: string): string {
  try {
    const iss = decodeJwt(assertion).iss;
    if (typeof iss === 'string' && iss.length > 0) return iss;
  } catch {
    // fall through to the refusal
  }
  throw new AtollError('INVALID_GRANT', 'the assertion is not a JWT naming its device in iss');
}

export interface VerifiedAssertion {
  jti: string;
  exp: number;
}

/**
 * Verifies a JWT-bearer assertion (RFC 7523 §3) by the device's key: RS256 only (so `none` and HS256 keyed with the
 * public key are refused by construction), iss = sub = deviceId, aud = the token endpoint, a jti, and exp at most
 * `maxLifetimeSec` ahead.
 */
export async function verifyDeviceAssertion(opts: {
  assertion: string;
  key: KeyObject;
  deviceId: string;
  audience: string;
  maxLifetimeSec?: number;
}): Promise<VerifiedAssertion> {
  const max = opts.maxLifetimeSec ?? 300;
  let payload;
  try {
    ({ payload } = await jwtVerify(opts.assertion, opts.key, { algorithms: ['RS256'], issuer: opts.deviceId, audience: opts.audience, clockTolerance: 5, requiredClaims: ['exp', 'jti'] }));
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw new AtollError('INVALID_GRANT', 'the assertion has expired');
    if (e instanceof joseErrors.JWTClaimValidationFailed) throw new AtollError('INVALID_GRANT', `the assertion's ${e.claim} claim is not acceptable`);
    throw new AtollError('INVALID_GRANT', 'the assertion is not signed by this device');
  }
  if (payload.sub !== undefined && payload.sub !== opts.deviceId) throw new AtollError('INVALID_GRANT', 'the assertion names another device');
  const exp = payload.exp!;
  if (exp - Math.floor(Date.now() / 1000) > max + 5) throw new AtollError('INVALID_GRANT', `an assertion may live at most ${max} seconds`);
  const jti = payload.jti!;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 200) throw new AtollError('INVALID_GRANT', 'the assertion needs a jti of at most 200 characters');
  return { jti, exp };
}
