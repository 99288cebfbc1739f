// StorageAdmin for MinIO: a small hand-written client for the MinIO admin API v3 and STS AssumeRole.
// Hand-written because no maintained JavaScript client for MinIO's admin API exists; behaviour follows madmin-go v3
// and the MinIO server sources (cmd/admin-router.go, cmd/admin-handlers-users.go, cmd/sts-handlers.go).
import { encryptAdminPayload } from './madmin-crypto.js';
import { requireName, signedCall, signedClient, type CallOptions, type SignedClient, type SignedClientOptions } from './signed-call.js';
import {
  StorageAdminError,
  checkPolicyDocument,
  type AssumeRoleOptions,
  type IssuedServiceAccount,
  type PolicyDocument,
  type ServiceAccountOptions,
  type ServiceRoleOptions,
  type StorageAdmin,
  type TemporaryCredentials,
} from './storage-admin.js';
import { parseXml, xmlChild, xmlText, type XmlElement } from './xml.js';

/** Options of the MinIO admin client; the endpoint is MinIO's S3 origin, e.g. `http://127.0.0.1:9000`. */
export type MinioAdminOptions = SignedClientOptions;

const ADMIN_PREFIX = '/minio/admin/v3';
const STS_VERSION = '2011-06-15';
// MinIO's limits for DurationSeconds (internal/config: MinExpiration, MaxExpiration).
const MIN_STS_DURATION_SECONDS = 900;
const MAX_STS_DURATION_SECONDS = 365 * 24 * 3600;
// A default policy every MinIO has; reading it is the cheapest call that proves IAM is loaded and our keys work.
const PING_POLICY = 'readwrite';

export class MinioAdmin implements StorageAdmin {
  readonly #client: SignedClient;
  readonly #secretKey: string;

  constructor(opts: MinioAdminOptions) {
    this.#client = signedClient('MinioAdmin', opts, 'http://127.0.0.1:9000');
    this.#secretKey = opts.secretKey;
  }

  async putPolicy(name: string, policy: PolicyDocument): Promise<void> {
    requireName('putPolicy', 'policy name', name);
    checkPolicyDocument('putPolicy', policy);
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

  async addServiceAccount(opts: ServiceAccountOptions): Promise<IssuedServiceAccount> {
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
    return { accessKey: opts.accessKey, secretKey: opts.secretKey };
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

  /** MinIO has no named roles for AssumeRole: a user's own session is bounded by the user's policies, so nothing to do. */
  async putServiceRole(name: string, opts: ServiceRoleOptions): Promise<void> {
    requireName('putServiceRole', 'role name', name);
    requireName('putServiceRole', 'trusted user', opts.trustedUser);
  }

  async deleteServiceRole(name: string): Promise<void> {
    requireName('deleteServiceRole', 'role name', name);
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

  #call(opts: CallOptions): Promise<Buffer> {
    return signedCall(this.#client, opts);
  }
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
