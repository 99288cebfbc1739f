// The StorageAdmin contract: what Atoll needs from the object store beyond plain S3 (users, policies, STS).

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  /** Omitted for MinIO admin actions, which apply to the whole deployment. */
  Resource?: string[];
  Condition?: Record<string, unknown>;
}

/** An IAM policy document, as MinIO (and AWS) accept it. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** `service:Action` as IAM writes it (`s3:GetObject`, `s3:Get*`, `admin:*`, `iam:CreateUser`, `sts:AssumeRole`). */
const ACTION_PATTERN = /^[a-z0-9-]+:[A-Za-z0-9*?]+$/;

/**
 * Refuses a policy document that no server should take, before any call, so both implementations refuse it alike:
 * SeaweedFS's CreatePolicy stores any JSON it can parse (an `Effect` of "Maybe" included) and MinIO refuses it,
 * so the server cannot be the one judge. Throws a RangeError naming the first fault.
 */
export function checkPolicyDocument(operation: string, policy: PolicyDocument): void {
  const refuse = (why: string): never => {
    throw new RangeError(`${operation}: invalid policy document: ${why}`);
  };
  const doc = policy as unknown as Record<string, unknown> | null;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) refuse('not an object');
  if (doc!.Version !== '2012-10-17') refuse('Version must be "2012-10-17"');
  const statements = doc!.Statement;
  if (!Array.isArray(statements) || statements.length === 0) refuse('Statement must be a non-empty array');
  (statements as unknown[]).forEach((raw, i) => {
    const at = `statement ${i + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) refuse(`${at} is not an object`);
    const st = raw as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') refuse(`${at}: Effect must be "Allow" or "Deny"`);
    const actions = st.Action;
    if (!Array.isArray(actions) || actions.length === 0) refuse(`${at}: Action must be a non-empty array`);
    for (const a of actions as unknown[]) if (typeof a !== 'string' || (a !== '*' && !ACTION_PATTERN.test(a))) refuse(`${at}: ${JSON.stringify(a)} is no service:Action`);
    if (st.Resource !== undefined) {
      if (!Array.isArray(st.Resource) || st.Resource.length === 0) refuse(`${at}: Resource must be a non-empty array when given`);
      for (const r of st.Resource as unknown[]) if (typeof r !== 'string' || (r !== '*' && !r.startsWith('arn:'))) refuse(`${at}: ${JSON.stringify(r)} is no ARN`);
    }
    if (st.Condition !== undefined && (typeof st.Condition !== 'object' || st.Condition === null || Array.isArray(st.Condition))) refuse(`${at}: Condition must be an object`);
  });
}

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiresAt: Date;
}

export interface AssumeRoleOptions {
  /** Inline session policy; the credentials can do at most what it and the caller's own policies both allow. */
  policy?: PolicyDocument;
  /** Lifetime of the credentials; MinIO accepts 900 s to 365 days. */
  durationSeconds: number;
  /**
   * The service role (made by `putServiceRole`) whose policies bound the session. SeaweedFS needs it: a session a
   * user assumes for itself carries none of the user's policies there. MinIO has no such roles: its session is
   * bounded by the caller's own policies, so it ignores this.
   */
  role?: string;
}

export interface ServiceRoleOptions {
  /** The only user that may assume the role (its trust policy names this user). */
  trustedUser: string;
  /** Canned policies (made by `putPolicy`) attached to the role: what a session of it can do at most. */
  policies: string[];
}

export interface ServiceAccountOptions {
  /** The existing user whose rights bound the key (the key can never do more than its parent). */
  parentUser: string;
  /** The key pair asked for; a server that issues its own (SeaweedFS) ignores it: use the pair returned. */
  accessKey: string;
  secretKey: string;
  /** Inline policy that narrows the key further (MinIO); SeaweedFS keys carry exactly the parent's rights. */
  policy?: PolicyDocument;
  /** The server refuses the key from this instant on. */
  expiresAt?: Date;
  /** Free text shown by admin tools; no secrets. */
  description?: string;
}

/** The key pair a service account signs with, as the server issued it. */
export interface IssuedServiceAccount {
  accessKey: string;
  secretKey: string;
}

export interface StorageAdmin {
  /**
   * Creates or replaces a canned policy; every user and role it is attached to sees the new document when this
   * returns. A document `checkPolicyDocument` or the server refuses changes nothing.
   */
  putPolicy(name: string, policy: PolicyDocument): Promise<void>;
  /** Deletes a canned policy; a missing policy is not an error. Fails while the policy is attached to a user. */
  deletePolicy(name: string): Promise<void>;
  /** Creates a user or updates its secret key; the user ends up enabled. */
  createUser(accessKey: string, secretKey: string): Promise<void>;
  /** Deletes a user; a missing user is not an error. */
  deleteUser(accessKey: string): Promise<void>;
  /** Attaches canned policies to a user; policies already attached are not an error. */
  attachPolicies(user: string, policies: string[]): Promise<void>;
  /** Creates a long-lived access key (a "service account") under a parent user, optionally expiring; returns its pair. */
  addServiceAccount(opts: ServiceAccountOptions): Promise<IssuedServiceAccount>;
  /** Deletes a service account; a missing one is not an error. Its key stops working at once. */
  deleteServiceAccount(accessKey: string): Promise<void>;
  /**
   * Creates or updates a named role that `trustedUser` alone may assume, bounded by `policies` (idempotent).
   * SeaweedFS only; MinIO bounds a user's session by the user's own policies and has no such roles, so this does
   * nothing there.
   */
  putServiceRole(name: string, opts: ServiceRoleOptions): Promise<void>;
  /** Deletes a service role (its policies detached first); a missing role is not an error. A no-op on MinIO. */
  deleteServiceRole(name: string): Promise<void>;
  /** STS AssumeRole with this client's own credentials, narrowed by an optional inline session policy. */
  assumeRole(opts: AssumeRoleOptions): Promise<TemporaryCredentials>;
  /** A cheap authenticated admin call, for readiness checks. */
  ping(): Promise<void>;
}

export interface StorageAdminErrorDetails {
  /** Which StorageAdmin operation failed, e.g. `createUser`. */
  operation: string;
  /** HTTP status, or 0 when no response arrived (network error, timeout). */
  status: number;
  /** The server's error code, e.g. `XMinioAdminNoSuchUser`, `AccessDenied`; undefined when the body had none. */
  code: string | undefined;
  /** The server's error message. Never includes request bodies or secret keys. */
  serverMessage: string | undefined;
  requestId: string | undefined;
  cause?: unknown;
}

/** A failed admin or STS call. The message names the operation, status and server code, never a secret. */
export class StorageAdminError extends Error {
  readonly operation: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly serverMessage: string | undefined;
  readonly requestId: string | undefined;

  constructor(details: StorageAdminErrorDetails) {
    const what = details.status === 0 ? 'no response' : `HTTP ${details.status}`;
    const code = details.code ? ` ${details.code}` : '';
    const message = details.serverMessage ? `: ${details.serverMessage}` : '';
    super(`storage admin ${details.operation} failed (${what}${code})${message}`, { cause: details.cause });
    this.name = 'StorageAdminError';
    this.operation = details.operation;
    this.status = details.status;
    this.code = details.code;
    this.serverMessage = details.serverMessage;
    this.requestId = details.requestId;
  }
}

export function isStorageAdminError(e: unknown): e is StorageAdminError {
  return e instanceof StorageAdminError;
}
