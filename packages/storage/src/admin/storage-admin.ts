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
}

export interface ServiceAccountOptions {
  /** The existing user whose rights bound the key (the key can never do more than its parent). */
  parentUser: string;
  accessKey: string;
  secretKey: string;
  /** Inline policy that narrows the key further. */
  policy?: PolicyDocument;
  /** The server refuses the key from this instant on. */
  expiresAt?: Date;
  /** Free text shown by admin tools; no secrets. */
  description?: string;
}

export interface StorageAdmin {
  /** Creates or replaces a canned policy. */
  putPolicy(name: string, policy: PolicyDocument): Promise<void>;
  /** Deletes a canned policy; a missing policy is not an error. Fails while the policy is attached to a user. */
  deletePolicy(name: string): Promise<void>;
  /** Creates a user or updates its secret key; the user ends up enabled. */
  createUser(accessKey: string, secretKey: string): Promise<void>;
  /** Deletes a user; a missing user is not an error. */
  deleteUser(accessKey: string): Promise<void>;
  /** Attaches canned policies to a user; policies already attached are not an error. */
  attachPolicies(user: string, policies: string[]): Promise<void>;
  /** Creates a long-lived access key (MinIO "service account") under a parent user, optionally expiring. */
  addServiceAccount(opts: ServiceAccountOptions): Promise<void>;
  /** Deletes a service account; a missing one is not an error. Its key stops working at once. */
  deleteServiceAccount(accessKey: string): Promise<void>;
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
