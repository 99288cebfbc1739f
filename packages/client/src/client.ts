// The device-side client of Atoll (SPEC §5): key creation, registration, token refresh, license status, showing and
// signing a license, and licensed uploads. Runs in Node ≥ 20 and browsers: only fetch and node-forge.
import canonicalize from 'canonicalize';
import { fromBase64urlUtf8, generateDeviceKeyPair, randomId, signJwt, signUtf8 } from './keys.js';
import { memoryStorage, type DeviceStorage, type StoredDevice } from './storage.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export type DeviceScope = 'license' | 'upload';

export interface LicenseUse {
  usecases: string[];
  /** Consumer ids, or `*`. */
  destinations: string[];
}

/** The license document of SPEC §5.4, exactly what the device signs (in RFC 8785 canonical form). */
export interface LicenseDocument {
  v: 1;
  provider: string;
  subject: string;
  device: string;
  tables: string[];
  tags: string[];
  uses: LicenseUse[];
  terms: { sha256: string; uri?: string };
  expiry: string;
  issuedAt: string;
}

export interface LicenseStatus {
  active: boolean;
  licenses: Array<Record<string, unknown>>;
}

export interface CreatedLicense {
  id: string;
  document: LicenseDocument;
  signature: string;
  countersignature: unknown;
  log: { index: number; checkpoint: string; inclusionProof: unknown };
}

export interface AtollClientOptions {
  /** The api's base URL, e.g. http://127.0.0.1:17080. */
  baseUrl: string;
  /** The provider whose app this is; learned from the attestation when omitted. */
  providerId?: string;
  /** Where the key pair and registration live; in memory by default (lost when the page or process ends). */
  storage?: DeviceStorage;
  /** Injected fetch, e.g. to add tracing; the global one by default. */
  fetch?: typeof fetch;
}

/** An error response of the api: `{ error: { code, message, details? } }` with its HTTP status. */
export class AtollClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AtollClientError';
  }
}

const REFRESH_MARGIN_MS = 60_000;

export class AtollClient {
  private readonly baseUrl: string;
  private readonly storage: DeviceStorage;
  private readonly fetchFn: typeof fetch;
  private providerId: string | undefined;
  private tokenEndpoint: string | undefined;
  private tokens = new Map<string, { value: string; expiresAt: number }>();

  constructor(opts: AtollClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.storage = opts.storage ?? memoryStorage();
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.providerId = opts.providerId;
  }

  private async request<T>(method: string, path: string, opts: { body?: string; contentType?: string; token?: string; headers?: Record<string, string> } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers ?? {}) };
    if (opts.contentType) headers['content-type'] = opts.contentType;
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await this.fetchFn(`${this.baseUrl}${path}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
      throw new AtollClientError(res.status, e?.code ?? 'HTTP_ERROR', e?.message ?? `HTTP ${res.status}`, e?.details);
    }
    return parsed as T;
  }

  private async stored(): Promise<StoredDevice> {
    const d = await this.storage.load();
    if (!d) throw new Error('no device key yet: call createKeys() first');
    return d;
  }

  private async registered(): Promise<Required<Pick<StoredDevice, 'deviceId' | 'tid'>> & StoredDevice> {
    const d = await this.stored();
    if (!d.deviceId || !d.tid) throw new Error('this device is not registered yet: call register(attestation) first');
    return { ...d, deviceId: d.deviceId, tid: d.tid };
  }

  /** The device's public key, making (and storing) a key pair first if there is none. */
  async createKeys(): Promise<{ publicKeyPem: string }> {
    const existing = await this.storage.load();
    if (existing) return { publicKeyPem: existing.publicKeyPem };
    const pair = await generateDeviceKeyPair();
    await this.storage.save(pair);
    return { publicKeyPem: pair.publicKeyPem };
  }

  /** The stored registration, if any. */
  async device(): Promise<{ deviceId: string; tid: string; providerId: string | undefined } | null> {
    const d = await this.storage.load();
    return d?.deviceId && d.tid ? { deviceId: d.deviceId, tid: d.tid, providerId: d.providerId ?? this.providerId } : null;
  }

  /**
   * Registers this device with an attestation the app's backend fetched (POST /v1/devices/attestations with the
   * provider's credentials): proves possession of the key by signing the attestation.
   */
  async register(attestation: string): Promise<{ deviceId: string; tid: string }> {
    await this.createKeys();
    const d = await this.stored();
    const proof = signUtf8(d.privateKeyPem, attestation);
    const r = await this.request<{ deviceId: string; tid: string }>('POST', '/v1/devices', {
      body: JSON.stringify({ attestation, publicKey: d.publicKeyPem, proof }),
      contentType: 'application/json',
    });
    // The attestation names the provider (claim prv); the document we later sign must name it too.
    let providerId = this.providerId;
    try {
      const claims = JSON.parse(fromBase64urlUtf8(attestation.split('.')[1] ?? '')) as { prv?: unknown };
      if (typeof claims.prv === 'string') providerId ??= claims.prv;
    } catch {
      // an opaque attestation: providerId must come from init()
    }
    this.providerId = providerId;
    this.tokens.clear();
    await this.storage.save({ ...d, deviceId: r.deviceId, tid: r.tid, ...(providerId ? { providerId } : {}) });
    return r;
  }

  private async audience(): Promise<string> {
    this.tokenEndpoint ??= (await this.request<{ token_endpoint: string }>('GET', '/.well-known/oauth-authorization-server')).token_endpoint;
    return this.tokenEndpoint;
  }

  /** A valid access token for `scopes`, refreshed with a new JWT-bearer assertion shortly before it expires. */
  async token(scopes: DeviceScope[] = ['license', 'upload'], opts: { force?: boolean } = {}): Promise<string> {
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (!opts.force && cached && cached.expiresAt - REFRESH_MARGIN_MS > Date.now()) return cached.value;
    const d = await this.registered();
    const now = Math.floor(Date.now() / 1000);
    const assertion = signJwt(d.privateKeyPem, { iss: d.deviceId, sub: d.deviceId, aud: await this.audience(), jti: randomId(), iat: now, exp: now + 120 });
    const r = await this.request<{ access_token: string; expires_in: number }>('POST', '/v1/oauth/token', {
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion, scope: key }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
    this.tokens.set(key, { value: r.access_token, expiresAt: Date.now() + r.expires_in * 1000 });
    return r.access_token;
  }

  /** Whether this user holds a live license covering `tables` (GET /v1/licenses/status). */
  async licenseStatus(tables: string[]): Promise<LicenseStatus> {
    return this.request<LicenseStatus>('GET', `/v1/licenses/status?tables=${encodeURIComponent(tables.join(','))}`, { token: await this.token(['license']) });
  }

  /** Builds the document this device would sign: subject, device and provider come from the registration. */
  async buildLicense(opts: { tables: string[]; tags?: string[]; uses: LicenseUse[]; terms: { sha256: string; uri?: string }; expiry: Date | string; issuedAt?: Date }): Promise<LicenseDocument> {
    const d = await this.registered();
    const provider = d.providerId ?? this.providerId;
    if (!provider) throw new Error('the provider id is unknown: pass providerId to init()');
    const iso = (t: Date | string) => (typeof t === 'string' ? t : t.toISOString());
    return {
      v: 1,
      provider,
      subject: d.tid,
      device: d.deviceId,
      tables: opts.tables,
      tags: opts.tags ?? [],
      uses: opts.uses,
      terms: opts.terms,
      expiry: iso(opts.expiry),
      issuedAt: iso(opts.issuedAt ?? new Date()),
    };
  }

  /** What the user is shown before signing: a plain-language summary, and the exact bytes that will be signed. */
  showLicense(document: LicenseDocument): { summary: string; canonical: string } {
    const uses = document.uses.map((u) => `${u.usecases.join(', ')} → ${u.destinations.includes('*') ? 'any approved buyer' : u.destinations.join(', ')}`);
    const summary = [
      `You license your data in ${document.tables.join(', ')}${document.tags.length ? ` (${document.tags.join(', ')})` : ''}`,
      `for: ${uses.join('; ')}`,
      `until ${document.expiry}. Terms: ${document.terms.uri ?? 'sha256:' + document.terms.sha256}.`,
      'You can revoke it at any time.',
    ].join('\n');
    return { summary, canonical: canonical(document) };
  }

  /** Signs the document's canonical JSON (RFC 8785) with the device key and submits it (POST /v1/licenses). */
  async signLicense(document: LicenseDocument): Promise<CreatedLicense> {
    const d = await this.registered();
    const signature = signUtf8(d.privateKeyPem, canonical(document));
    return this.request<CreatedLicense>('POST', '/v1/licenses', {
      body: JSON.stringify({ document, signature }),
      contentType: 'application/json',
      token: await this.token(['license']),
    });
  }

  /** Revokes a license of this user (DELETE /v1/licenses/{id}). */
  async revokeLicense(licenseId: string): Promise<unknown> {
    return this.request('DELETE', `/v1/licenses/${encodeURIComponent(licenseId)}`, { token: await this.token(['license']) });
  }

  /**
   * Uploads records for this user (POST /v1/uploads/{table}) as NDJSON. Records carry the table's columns except
   * user_id, which the server fills. An idempotency key makes a retry return the first upload.
   */
  async upload(table: string, records: Iterable<Record<string, unknown>>, opts: { idempotencyKey?: string } = {}): Promise<{ uploadId: string; records: number }> {
    let body = '';
    for (const r of records) body += `${JSON.stringify(r)}\n`;
    return this.request('POST', `/v1/uploads/${encodeURIComponent(table)}`, {
      body,
      contentType: 'application/x-ndjson',
      token: await this.token(['upload']),
      ...(opts.idempotencyKey ? { headers: { 'idempotency-key': opts.idempotencyKey } } : {}),
    });
  }

  /** Revokes one of this user's devices (a lost phone), or this one. */
  async revokeDevice(deviceId: string): Promise<void> {
    await this.request('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`, { token: await this.token() });
  }
}

function canonical(document: LicenseDocument): string {
  const s = canonicalize(document);
  if (s === undefined) throw new Error('the license document has no canonical JSON form');
  return s;
}

/** Creates a client: the "convenient wrapper" of the platform document. */
export function init(opts: AtollClientOptions): AtollClient {
  return new AtollClient(opts);
}
