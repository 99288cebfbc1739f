// Fixtures for device tests: providers and tables made through the public API, device keys made with node:crypto,
// JWT-bearer assertions, and an HTTP helper bound to the in-process api.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { AtollHttp, clientToken } from '@atoll/stack';
import { env, operator, uniq } from './actors.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface DeviceKeys {
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function deviceKeys(bits = 2048): DeviceKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The proof of possession of SPEC §5.1: RSASSA-PKCS1-v1_5 SHA-256 over the attestation's UTF-8 bytes, base64url. */
export function proofFor(keys: DeviceKeys, attestation: string): string {
  return sign('sha256', Buffer.from(attestation, 'utf8'), keys.privateKey).toString('base64url');
}

/** A provider (with an approved `events` table: user_id, kind, value) whose token talks to `baseUrl`. */
export async function providerAt(baseUrl: string): Promise<{ id: string; http: AtollHttp }> {
  const op = await operator();
  const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
  const http = new AtollHttp(baseUrl, await clientToken(env, p.clientId, p.clientSecret));
  const s = await http.call<{ id: string }>('POST', '/v1/schemas', {
    body: {
      table: 'events',
      dataset: `events_${uniq()}`,
      columns: [
        { name: 'user_id', type: 'string', role: 'user_id' },
        { name: 'kind', type: 'string' },
        { name: 'value', type: 'long' },
      ],
    },
  });
  await op.call('POST', `/v1/schemas/${s.id}/approve`);
  return { id: p.id, http };
}

export interface Device {
  deviceId: string;
  tid: string;
  keys: DeviceKeys;
}

export async function registerDevice(baseUrl: string, provider: { http: AtollHttp }, userId: string): Promise<Device> {
  const { attestation } = await provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId } });
  const keys = deviceKeys();
  const r = await new AtollHttp(baseUrl).call<{ deviceId: string; tid: string }>('POST', '/v1/devices', { body: { attestation, publicKey: keys.publicKeyPem, proof: proofFor(keys, attestation) } });
  return { ...r, keys };
}

export async function tokenEndpoint(baseUrl: string): Promise<string> {
  return (await new AtollHttp(baseUrl).call<{ token_endpoint: string }>('GET', '/.well-known/oauth-authorization-server')).token_endpoint;
}

export async function assertion(device: Device, audience: string, opts: { iss?: string; sub?: string; jti?: string; expSec?: number; key?: KeyObject } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(opts.iss ?? device.deviceId)
    .setSubject(opts.sub ?? device.deviceId)
    .setAudience(audience)
    .setJti(opts.jti ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expSec ?? 120))
    .sign(opts.key ?? device.keys.privateKey);
}

export async function tokenRequest(baseUrl: string, form: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return new AtollHttp(baseUrl).raw('POST', '/v1/oauth/token', { rawBody: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded' });
}

export async function deviceToken(baseUrl: string, device: Device, scope?: string): Promise<string> {
  const r = await tokenRequest(baseUrl, { grant_type: JWT_BEARER, assertion: await assertion(device, await tokenEndpoint(baseUrl)), ...(scope ? { scope } : {}) });
  if (r.status !== 200) throw new Error(`token: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { access_token: string }).access_token;
}

export function expectCode(r: { status: number; body: unknown }, status: number, code: string): void {
  const got = { status: r.status, code: (r.body as { error?: { code?: string } } | null)?.error?.code };
  if (got.status !== status || got.code !== code) throw new Error(`expected ${status} ${code}, got ${JSON.stringify(r.body)} (${r.status})`);
}
