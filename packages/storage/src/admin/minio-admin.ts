// StorageAdmin for MinIO: a small hand-written client for the MinIO admin API v3 and STS AssumeRole.
// Hand-written because no maintained JavaScript client for MinIO's admin API exists; behaviour follows madmin-go v3
// and the MinIO server sources (cmd/admin-router.go, cmd/admin-handlers-users.go, cmd/sts-handlers.go).
import aws4 from 'aws4';
import { encryptAdminPayload } from './madmin-crypto.js';
import {
  StorageAdminError,
  type AssumeRoleOptions,
  type PolicyDocument,
  type ServiceAccountOptions,
  type StorageAdmin,
  type TemporaryCredentials,
} from './storage-admin.js';
import { parseXml, xmlChild, xmlText, type XmlElement } from './xml.js';

export interface MinioAdminOptions {
  /** Base URL of the MinIO S3 endpoint, e.g. `http://127.0.0.1:9000`. */
  endpoint: string;
  /** Region used for signing; must match the server's configured region if it has one. */
  region: string;
  accessKey: string;
  secretKey: string;
  /** Per-request time limit. Defaults to 30 s. */
  timeoutMs?: number;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
}

const ADMIN_PREFIX = '/minio/admin/v3';
const STS_VERSION = '2011-06-15';
// MinIO's limits for DurationSeconds (internal/config: MinExpiration, MaxExpiration).
const MIN_STS_DURATION_SECONDS = 900;
const MAX_STS_DURATION_SECONDS = 365 * 24 * 3600;
const MAX_SERVER_MESSAGE_LENGTH = 500;
// A default policy every MinIO has; reading it is the cheapest call that proves IAM is loaded and our keys work.
const PING_POLICY = 'readwrite';

type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface CallOptions {
  operation: string;
  method: HttpMethod;
  service: 's3' | 'sts';
  path: string;
  query?: Record<string, string>;
  body?: Buffer;
  contentType?: string;
  /** Server error codes that mean the desired state already holds (idempotent calls). */
  acceptCodes?: readonly string[];
  /** Extra secrets that must not appear in error messages (e.g. a user's new secret key). */
  secrets?: readonly string[];
}

export class MinioAdmin implements StorageAdmin {
  readonly #base: URL;
  readonly #region: string;
  readonly #accessKey: string;
  readonly #secretKey: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(opts: MinioAdminOptions) {
    const base = new URL(opts.endpoint);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('MinioAdmin: endpoint must be http(s)');
    // Admin and STS paths are absolute on the server; a path prefix would be silently dropped.
    if (base.pathname !== '/' || base.search || base.hash || base.username || base.password) {
      throw new TypeError('MinioAdmin: endpoint must be a bare origin such as http://127.0.0.1:9000');
    }
    if (!opts.region) throw new TypeError('MinioAdmin: region is required');
    if (!opts.accessKey || !opts.secretKey) throw new TypeError('MinioAdmin: accessKey and secretKey are required');
    this.#base = base;
    this.#region = opts.region;
    this.#accessKey = opts.accessKey;
    this.#secretKey = opts.secretKey;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#fetch = opts.fetch ?? fetch;
  }

  async putPolicy(name: string, policy: PolicyDocument): Promise<void> {
    requireName('putPolicy', 'policy name', name);
    await this.#call({
      operation: 'putPolicy',
      method: 'PUT',
      service: 's3',
      path: `${ADMIN_PREFIX}/add-canned-policy`,
      query: { name },
      body: Buffer.from(JSON.stringify(policy), 'utf8'),
      contentType: 'application/json',
    });
  }

  async deletePolicy(name: string): Promise<void> {
    requireName('deletePolicy', 'policy name', name);
    // Current servers already answer 200 for a missing policy; older ones said XMinioAdminNoSuchPolicy.
    await this.#call({
      operation: 'deletePolicy',
      method: 'DELETE',
      service: 's3',
      path: `${ADMIN_PREFIX}/remove-canned-policy`,
      query: { name },
      acceptCodes: ['XMinioAdminNoSuchPolicy'],
    });
  }

  async createUser(accessKey: string, secretKey: string): Promise<void> {
    requireName('createUser', 'access key', accessKey);
    requireName('createUser', 'secret key', secretKey);
    // madmin.AddOrUpdateUserReq; `policy` is left out so an update keeps the user's attached policies.
    const request = JSON.stringify({ secretKey, status: 'enabled' });
    const body = await encryptAdminPayload({ password: this.#secretKey, data: Buffer.from(request, 'utf8') });
    await this.#call({
      operation: 'createUser',
      method: 'PUT',
      service: 's3',
      path: `${ADMIN_PREFIX}/add-user`,
      query: { accessKey },
      body,
      contentType: 'application/octet-stream',
      secrets: [secretKey],
    });
  }

  async deleteUser(accessKey: string): Promise<void> {
    requireName('deleteUser', 'access key', accessKey);
    await this.#call({
      operation: 'deleteUser',
      method: 'DELETE',
      service: 's3',
      path: `${ADMIN_PREFIX}/remove-user`,
      query: { accessKey },
      acceptCodes: ['XMinioAdminNoSuchUser'],
    });
  }

  async attachPolicies(user: string, policies: string[]): Promise<void> {
    requireName('attachPolicies', 'user', user);
    // Attaching nothing already holds; the server would reject an empty list.
    if (policies.length === 0) return;
    for (const p of policies) requireName('attachPolicies', 'policy name', p);
    const request = JSON.stringify({ policies, user });
    const body = await encryptAdminPayload({ password: this.#secretKey, data: Buffer.from(request, 'utf8') });
    // The server attaches only the policies not yet attached and answers PolicyChangeAlreadyApplied when there are
    // none. Its success body is encrypted (argon2id unless FIPS) and only echoes what changed, so it is not read.
    await this.#call({
      operation: 'attachPolicies',
      method: 'POST',
      service: 's3',
      path: `${ADMIN_PREFIX}/idp/builtin/policy/attach`,
      body,
      // Required: the handler refuses any other content type so the body is never parsed as a form.
      contentType: 'application/octet-stream',
      acceptCodes: ['XMinioAdminPolicyChangeAlreadyApplied'],
    });
  }

  async addServiceAccount(opts: ServiceAccountOptions): Promise<void> {
    requireName('addServiceAccount', 'parent user', opts.parentUser);
    requireName('addServiceAccount', 'access key', opts.accessKey);
    requireName('addServiceAccount', 'secret key', opts.secretKey);
    // madmin.AddServiceAccountReq; the credentials are ours, so the (encrypted) response needs no reading.
    const request = JSON.stringify({
      targetUser: opts.parentUser,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.expiresAt ? { expiration: opts.expiresAt.toISOString() } : {}),
      ...(opts.description ? { description: opts.description.slice(0, 256) } : {}),
    });
    const body = await encryptAdminPayload({ password: this.#secretKey, data: Buffer.from(request, 'utf8') });
    await this.#call({
      operation: 'addServiceAccount',
      method: 'PUT',
      service: 's3',
      path: `${ADMIN_PREFIX}/add-service-account`,
      body,
      contentType: 'application/octet-stream',
      secrets: [opts.secretKey],
    });
  }

  async deleteServiceAccount(accessKey: string): Promise<void> {
    requireName('deleteServiceAccount', 'access key', accessKey);
    await this.#call({
      operation: 'deleteServiceAccount',
      method: 'DELETE',
      service: 's3',
      path: `${ADMIN_PREFIX}/delete-service-account`,
      query: { accessKey },
      // A missing service account: current servers answer 404 XMinioInvalidIAMCredentials ("not found").
      acceptCodes: ['XMinioInvalidIAMCredentials', 'XMinioAdminServiceAccountNotFound', 'XMinioAdminNoSuchServiceAccount'],
    });
  }

  async assumeRole(opts: AssumeRoleOptions): Promise<TemporaryCredentials> {
    const { durationSeconds } = opts;
    if (!Number.isInteger(durationSeconds) || durationSeconds < MIN_STS_DURATION_SECONDS || durationSeconds > MAX_STS_DURATION_SECONDS) {
      throw new RangeError(`assumeRole: durationSeconds must be an integer from ${MIN_STS_DURATION_SECONDS} to ${MAX_STS_DURATION_SECONDS}`);
    }
    const form = new URLSearchParams({ Action: 'AssumeRole', Version: STS_VERSION, DurationSeconds: String(durationSeconds) });
    if (opts.policy) form.set('Policy', JSON.stringify(opts.policy));
    // The STS route matches only a form-encoded POST to "/" with no query string.
    const response = await this.#call({
      operation: 'assumeRole',
      method: 'POST',
      service: 'sts',
      path: '/',
      body: Buffer.from(form.toString(), 'utf8'),
      contentType: 'application/x-www-form-urlencoded',
    });
    return parseAssumeRoleResponse(response.toString('utf8'));
  }

  async ping(): Promise<void> {
    await this.#call({
      operation: 'ping',
      method: 'GET',
      service: 's3',
      path: `${ADMIN_PREFIX}/info-canned-policy`,
      query: { name: PING_POLICY },
    });
  }

  async #call(opts: CallOptions): Promise<Buffer> {
    const query = opts.query
      ? `?${Object.entries(opts.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
      : '';
    const headers: Record<string, string> = {};
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
    const signed = aws4.sign(
      {
        host: this.#base.host,
        method: opts.method,
        path: `${opts.path}${query}`,
        headers,
        service: opts.service,
        region: this.#region,
        ...(opts.body ? { body: opts.body } : {}),
      },
      { accessKeyId: this.#accessKey, secretAccessKey: this.#secretKey },
    );
    // fetch sets Host and Content-Length itself from the URL and body, to the same values that were signed.
    const sendHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers ?? {})) {
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'content-length' || value === undefined) continue;
      sendHeaders[name] = Array.isArray(value) ? value.join(',') : String(value);
    }
    const url = new URL(signed.path ?? opts.path, this.#base);

    let response: Response;
    let body: Buffer;
    try {
      response = await this.#fetch(url, {
        method: opts.method,
        headers: sendHeaders,
        ...(opts.body ? { body: opts.body } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
      body = Buffer.from(await response.arrayBuffer());
    } catch (cause) {
      const reason = cause instanceof Error && cause.name === 'TimeoutError' ? 'timed out' : 'request failed';
      throw new StorageAdminError({
        operation: opts.operation,
        status: 0,
        code: undefined,
        serverMessage: `${reason} (${url.origin})`,
        requestId: undefined,
        cause,
      });
    }
    if (response.ok) return body;

    const parsed = parseErrorBody(body, response.headers.get('content-type'));
    if (parsed.code !== undefined && opts.acceptCodes?.includes(parsed.code)) return body;
    const secrets = [this.#secretKey, ...(opts.secrets ?? [])];
    throw new StorageAdminError({
      operation: opts.operation,
      status: response.status,
      code: parsed.code,
      serverMessage: parsed.message === undefined ? undefined : redact(parsed.message, secrets),
      requestId: parsed.requestId ?? response.headers.get('x-amz-request-id') ?? undefined,
    });
  }
}

function requireName(operation: string, what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${operation}: ${what} must be a non-empty string`);
}

interface ParsedError {
  code: string | undefined;
  message: string | undefined;
  requestId: string | undefined;
}

/** Reads MinIO's error body: JSON from the admin API, XML (S3 `<Error>` or STS `<ErrorResponse>`) otherwise. */
function parseErrorBody(body: Buffer, contentType: string | null): ParsedError {
  const text = body.toString('utf8').trim();
  const none: ParsedError = { code: undefined, message: undefined, requestId: undefined };
  if (text === '') return none;
  if (contentType?.includes('json') || text.startsWith('{')) {
    try {
      const json: unknown = JSON.parse(text);
      if (json && typeof json === 'object') {
        const record = json as Record<string, unknown>;
        return { code: stringField(record.Code), message: stringField(record.Message), requestId: stringField(record.RequestId) };
      }
    } catch {
      // Not JSON after all; fall through to XML.
    }
  }
  if (text.startsWith('<')) {
    try {
      const root = parseXml(text);
      const error: XmlElement | undefined = root.name === 'Error' ? root : xmlChild(root, 'Error');
      if (error) {
        return {
          code: xmlText(error, 'Code') || undefined,
          message: xmlText(error, 'Message') || undefined,
          requestId: (xmlText(root, 'RequestId') ?? xmlText(error, 'RequestId')) || undefined,
        };
      }
    } catch {
      // Unreadable error body; report the status alone.
    }
  }
  return none;
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Defence in depth: a server message should never echo a secret, but make sure none reaches an error message. */
function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  return out.length > MAX_SERVER_MESSAGE_LENGTH ? `${out.slice(0, MAX_SERVER_MESSAGE_LENGTH)}…` : out;
}

/** Extracts the credentials from an STS AssumeRoleResponse document. */
export function parseAssumeRoleResponse(xml: string): TemporaryCredentials {
  const fail = (why: string): StorageAdminError =>
    new StorageAdminError({ operation: 'assumeRole', status: 200, code: undefined, serverMessage: `unexpected response: ${why}`, requestId: undefined });
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (cause) {
    throw fail(cause instanceof Error ? cause.message : 'unreadable XML');
  }
  if (root.name !== 'AssumeRoleResponse') throw fail(`root element is <${root.name}>`);
  const credentials = xmlChild(root, 'AssumeRoleResult', 'Credentials');
  if (!credentials) throw fail('no Credentials element');
  const accessKeyId = xmlText(credentials, 'AccessKeyId');
  const secretAccessKey = xmlText(credentials, 'SecretAccessKey');
  const sessionToken = xmlText(credentials, 'SessionToken');
  const expiration = xmlText(credentials, 'Expiration');
  if (!accessKeyId || !secretAccessKey || !sessionToken || !expiration) throw fail('incomplete Credentials');
  const expiresAt = new Date(expiration);
  if (Number.isNaN(expiresAt.getTime())) throw fail('Expiration is not a date');
  return { accessKeyId, secretAccessKey, sessionToken, expiresAt };
}
