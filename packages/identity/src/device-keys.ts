// Device key material on the server side: RSA-2048 public keys, proofs of possession and JWT-bearer assertions
// (RFC 7523), all verified with node:crypto / jose; devices make and hold the private halves.
import { createHash, createPublicKey, verify, constants, type KeyObject } from 'node:crypto';
import { decodeJwt } from 'jose';
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
  const payload = await verifyRs256Jwt(opts.assertion, opts.key);
  const now = Math.floor(Date.now() / 1000);
  const claim = (name: string): never => {
    throw new AtollError('INVALID_GRANT', `the assertion's ${name} claim is not acceptable`);
  };
  if (payload.iss !== opts.deviceId) claim('iss');
  const aud = payload.aud;
  if (!(aud === opts.audience || (Array.isArray(aud) && aud.includes(opts.audience)))) claim('aud');
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) claim('exp');
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + CLOCK_TOLERANCE_SEC)) claim('nbf');
  if (payload.iat !== undefined && typeof payload.iat !== 'number') claim('iat');
  const exp = payload.exp as number;
  if (exp <= now - CLOCK_TOLERANCE_SEC) throw new AtollError('INVALID_GRANT', 'the assertion has expired');
  if (payload.sub !== undefined && payload.sub !== opts.deviceId) throw new AtollError('INVALID_GRANT', 'the assertion names another device');
  if (exp - now > max + CLOCK_TOLERANCE_SEC) throw new AtollError('INVALID_GRANT', `an assertion may live at most ${max} seconds`);
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 200) throw new AtollError('INVALID_GRANT', 'the assertion needs a jti of at most 200 characters');
  return { jti, exp };
}

const CLOCK_TOLERANCE_SEC = 5;

/**
 * The signature check of a compact RS256 JWS, with node:crypto rather than jose: jose 6 goes through WebCrypto, which
 * costs about four times as much per verification here (bench/tokens.bench.ts, docs/performance.md), and the token
 * endpoint does one per request. Only RS256 (PKCS#1 v1.5, SHA-256) is accepted, so `none` and HS256 keyed with the
 * public key fail by construction; a `crit` header (an extension we do not understand) is refused as RFC 7515 §4.1.11
 * requires. Returns the payload, whose claims are the caller's to check.
 */
async function verifyRs256Jwt(jwt: string, key: KeyObject): Promise<Record<string, unknown>> {
  const bad = (): never => {
    throw new AtollError('INVALID_GRANT', 'the assertion is not signed by this device');
  };
  const parts = jwt.split('.');
  if (parts.length !== 3) bad();
  const [h, p, sig] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return bad();
  }
  if (!isObject(header) || header.alg !== 'RS256' || header.crit !== undefined || header.b64 !== undefined) return bad();
  if (!isObject(payload) || key.asymmetricKeyType !== 'rsa') return bad();
  // With a callback the RSA operation runs on libuv's thread pool: the event loop keeps serving other requests.
  const ok = await new Promise<boolean>((resolve) =>
    verify('sha256', Buffer.from(`${h}.${p}`, 'ascii'), { key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(sig, 'base64url'), (e, valid) => resolve(!e && valid)),
  );
  if (!ok) bad();
  return payload;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
