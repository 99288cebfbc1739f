// Atoll-issued JWTs for devices: access tokens (RFC 9068 `at+jwt`) and the provider-bound registration attestations,
// both signed with the rotating key ring and told apart by `typ`, so one can never stand in for the other.
import { randomUUID, sign } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AtollError } from '@atoll/errors';
import type { DevicePrincipal, DeviceScope } from './keycloak.js';
import { SIGNING_ALG, type SigningKeyRing } from './signing-keys.js';

export const deviceScopes: readonly DeviceScope[] = ['license', 'upload'];
const ACCESS_TYP = 'at+jwt';
const ATTESTATION_TYP = 'atoll-attestation+jwt';
/** jose's clockTolerance in verifyOwn, applied alike to remembered tokens. */
const CLOCK_TOLERANCE_SEC = 5;
/** Remembered verified tokens (oldest dropped first): one per active device is plenty. */
const VERIFIED_TOKENS_MAX = 50_000;

const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

export interface DeviceTokenIssuerOptions {
  keys: SigningKeyRing;
  /** The api's public base URL: `iss` of everything signed here and `aud` of access tokens. */
  issuer: string;
  accessTokenTtlSec?: number;
  attestationTtlSec?: number;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  jti: string;
}

export interface VerifiedAttestation {
  providerId: string;
  userId: string;
  jti: string;
  exp: number;
}

export class DeviceTokenIssuer {
  readonly issuer: string;
  readonly accessTokenTtlSec: number;
  readonly attestationTtlSec: number;
  /** The key ring behind this issuer (rotation, JWKS). */
  readonly keys: SigningKeyRing;
  private readonly getKey: JWTVerifyGetKey;
  private readonly verified = new Map<string, DevicePrincipal & { jti: string; exp: number }>();

  constructor(opts: DeviceTokenIssuerOptions) {
    this.keys = opts.keys;
    this.issuer = opts.issuer;
    // SPEC §2 caps access tokens at 15 minutes; the attestation only has to survive the hop from backend to device.
    this.accessTokenTtlSec = Math.min(opts.accessTokenTtlSec ?? 900, 900);
    this.attestationTtlSec = Math.min(opts.attestationTtlSec ?? 600, 3600);
    this.getKey = async (header) => {
      const key = header.kid ? await this.keys.verificationKey(header.kid) : null;
      if (!key) throw new AtollError('UNAUTHENTICATED', 'the token was signed by a key this API does not know');
      return key;
    };
  }

  /** The public keys that verify everything this issuer signs (current and recently retired). */
  jwks(): ReturnType<SigningKeyRing['jwks']> {
    return this.keys.jwks();
  }

  /** Whether a bearer token claims to come from this issuer (else it is left to the Keycloak verifier). */
  isOwnToken(token: string): boolean {
    if (this.verified.has(token)) return true;
    try {
      return decodeJwt(token).iss === this.issuer;
    } catch {
      return false;
    }
  }

  async issueAccessToken(opts: { deviceId: string; tid: string; providerId: string; scopes: readonly DeviceScope[] }): Promise<IssuedAccessToken> {
    const { kid, signingKey } = await this.keys.current();
    const jti = randomUUID();
    const iat = Math.floor(Date.now() / 1000);
    // Compact JWS signed with node:crypto rather than jose's SignJWT: the same bytes jose would produce (ES256,
    // IEEE P1363 signature), at about a quarter of the cost (WebCrypto) on the token endpoint's hot path. Every token
    // is still verified with jose (verifyOwn), so any difference would fail loudly in the tests.
    const header = { alg: SIGNING_ALG, kid, typ: ACCESS_TYP };
    const claims = { scp: opts.scopes.join(' '), did: opts.deviceId, prv: opts.providerId, client_id: opts.deviceId, iss: this.issuer, aud: this.issuer, sub: opts.tid, jti, iat, exp: iat + this.accessTokenTtlSec };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // The callback form signs on libuv's thread pool, off the event loop.
    const signature = await new Promise<string>((resolve, reject) =>
      sign('sha256', Buffer.from(input, 'ascii'), { key: signingKey, dsaEncoding: 'ieee-p1363' }, (e, sig) => (e ? reject(e) : resolve(sig.toString('base64url')))),
    );
    return { token: `${input}.${signature}`, expiresIn: this.accessTokenTtlSec, jti };
  }

  private async verifyOwn(token: string, typ: string, audience: string): Promise<JWTPayload> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AtollError('UNAUTHENTICATED', 'the token is not a JWT');
    }
    if (header.alg !== SIGNING_ALG) throw new AtollError('UNAUTHENTICATED', 'the token is not valid for this API');
    try {
      const { payload } = await jwtVerify(token, this.getKey, { algorithms: [SIGNING_ALG], issuer: this.issuer, audience, typ, clockTolerance: CLOCK_TOLERANCE_SEC, requiredClaims: ['exp', 'jti', 'sub'] });
      return payload;
    } catch (e) {
      if (e instanceof AtollError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw new AtollError('UNAUTHENTICATED', 'the token has expired');
      throw new AtollError('UNAUTHENTICATED', 'the token is not valid for this API');
    }
  }

  /**
   * Verifies a device access token and returns who holds it. Scope and revocation are the caller's checks. A device
   * sends the same token for up to 15 minutes: a token verified once is remembered (by its exact text) until it
   * expires, so the signature is checked once per token rather than once per request.
   */
  async verifyAccessToken(token: string): Promise<DevicePrincipal & { jti: string; exp: number }> {
    const known = this.verified.get(token);
    if (known) {
      if (known.exp + CLOCK_TOLERANCE_SEC > Date.now() / 1000) return { ...known, scopes: [...known.scopes] };
      this.verified.delete(token);
    }
    const principal = await this.verifyAccessTokenUncached(token);
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, principal);
    return { ...principal, scopes: [...principal.scopes] };
  }

  private async verifyAccessTokenUncached(token: string): Promise<DevicePrincipal & { jti: string; exp: number }> {
    const p = await this.verifyOwn(token, ACCESS_TYP, this.issuer);
    const scopes = typeof p.scp === 'string' ? p.scp.split(' ').filter((s): s is DeviceScope => (deviceScopes as string[]).includes(s)) : [];
    if (typeof p.did !== 'string' || typeof p.prv !== 'string' || typeof p.sub !== 'string') throw new AtollError('UNAUTHENTICATED', 'the token is not valid for this API');
    return { kind: 'device', deviceId: p.did, tid: p.sub, providerId: p.prv, scopes, jti: p.jti!, exp: p.exp! };
  }

  /** A single-use statement by the provider that one device may register for `userId` (SPEC §4). */
  async issueAttestation(opts: { providerId: string; userId: string }): Promise<{ attestation: string; jti: string; expiresAt: Date }> {
    const { kid, privateKey } = await this.keys.current();
    const jti = randomUUID();
    const exp = Math.floor(Date.now() / 1000) + this.attestationTtlSec;
    const attestation = await new SignJWT({ prv: opts.providerId })
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ATTESTATION_TYP })
      .setIssuer(this.issuer)
      .setAudience(`${this.issuer}/v1/devices`)
      .setSubject(opts.userId)
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(privateKey);
    return { attestation, jti, expiresAt: new Date(exp * 1000) };
  }

  /** Checks signature, type, audience and expiry; single use is the registration's job (a unique jti). */
  async verifyAttestation(attestation: string): Promise<VerifiedAttestation> {
    let p: JWTPayload;
    try {
      p = await this.verifyOwn(attestation, ATTESTATION_TYP, `${this.issuer}/v1/devices`);
    } catch (e) {
      const why = e instanceof AtollError && /expired/.test(e.message) ? 'the attestation has expired' : 'the attestation is not one this API issued';
      throw new AtollError('INVALID_ATTESTATION', why);
    }
    if (typeof p.prv !== 'string' || typeof p.sub !== 'string') throw new AtollError('INVALID_ATTESTATION', 'the attestation names no provider or user');
    return { providerId: p.prv, userId: p.sub, jti: p.jti!, exp: p.exp! };
  }
}
