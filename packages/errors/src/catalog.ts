// The one catalog of Atoll's error codes: HTTP status and a message factory per code. SPEC error shape.
export const errorCatalog = {
  BAD_REQUEST: { status: 400, message: (d?: string) => d ?? 'the request is malformed' },
  VALIDATION_FAILED: { status: 400, message: (d?: string) => `the request does not match its schema${d ? `: ${d}` : ''}` },
  MALFORMED_NDJSON: { status: 400, message: (d?: string) => `the body is not valid NDJSON${d ? `: ${d}` : ''}` },
  MALFORMED_JSON: { status: 400, message: (d?: string) => `the body is not valid JSON${d ? `: ${d}` : ''}` },
  SCHEMA_VIOLATION: { status: 400, message: (d?: string) => `a record does not match the table's schema${d ? `: ${d}` : ''}` },
  EMPTY_UPLOAD: { status: 400, message: () => 'the upload holds no records' },
  SQL_REJECTED: { status: 400, message: (d?: string) => `the SQL was rejected${d ? `: ${d}` : ''}` },
  UNAUTHENTICATED: { status: 401, message: (d?: string) => d ?? 'a valid bearer token is required' },
  FORBIDDEN: { status: 403, message: (d?: string) => d ?? 'this caller may not do that' },
  LICENSE_REQUIRED: { status: 403, message: (d?: string) => d ?? 'no live license covers this data' },
  NOT_FOUND: { status: 404, message: (d?: string) => d ?? 'no such resource' },
  UNKNOWN_TABLE: { status: 404, message: (d?: string) => `no such table${d ? `: ${d}` : ''}` },
  ROUTE_NOT_FOUND: { status: 404, message: (d?: string) => `no such route${d ? `: ${d}` : ''}` },
  CONFLICT: { status: 409, message: (d?: string) => d ?? 'the resource changed or already exists' },
  COMMIT_CONFLICT: { status: 409, message: (d?: string) => d ?? 'the table changed; retry the commit' },
  PAYLOAD_TOO_LARGE: { status: 413, message: (d?: string) => d ?? 'the body is larger than allowed' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: (d?: string) => `unsupported content type${d ? `: ${d}` : ''}` },
  COHORT_TOO_SMALL: { status: 422, message: (d?: string) => d ?? 'too few distinct subjects match' },
  DATASET_NOT_PRICED: { status: 422, message: (d?: string) => `the query reads a dataset that has no price yet, so it cannot be bought${d ? `: ${d}` : ''}` },
  CONSUMER_NOT_APPROVED: { status: 403, message: () => 'the consumer is not approved yet' },
  RATE_LIMITED: { status: 429, message: (d?: string) => `too many requests${d ? `: ${d}` : ''}` },
  URI_TOO_LONG: { status: 414, message: (d?: string) => d ?? 'a path parameter is longer than allowed' },
  HEADERS_TOO_LARGE: { status: 431, message: () => 'the request headers are larger than allowed' },
  REQUEST_TIMEOUT: { status: 408, message: (d?: string) => d ?? 'the request was not received in time' },
  INTERNAL: { status: 500, message: () => 'an internal error occurred' },
  DEPENDENCY_UNAVAILABLE: { status: 503, message: (d?: string) => `a dependency is unavailable${d ? `: ${d}` : ''}` },
  INVALID_GRANT: { status: 400, message: (d?: string) => `the grant was refused${d ? `: ${d}` : ''}` },
  UNSUPPORTED_GRANT_TYPE: { status: 400, message: (d?: string) => `unsupported grant_type${d ? `: ${d}` : ''}; use urn:ietf:params:oauth:grant-type:jwt-bearer` },
  ASSERTION_REPLAYED: { status: 400, message: () => 'this assertion (its jti) was already used; sign a new one' },
  INVALID_ATTESTATION: { status: 400, message: (d?: string) => d ?? 'the attestation is not valid' },
  ATTESTATION_USED: { status: 409, message: () => 'this attestation was already used to register a device' },
  INVALID_DEVICE_KEY: { status: 400, message: (d?: string) => d ?? 'the device key is not acceptable' },
  INVALID_PROOF: { status: 400, message: (d?: string) => d ?? 'the proof is not a signature of the attestation by this key' },
  STEP_UP_REQUIRED: { status: 403, message: (d?: string) => d ?? 'this operation needs a fresh second factor (step-up authentication)' },
  INSUFFICIENT_SCOPE: { status: 403, message: (d?: string) => d ?? 'the token does not carry the scope this operation needs' },
  DEVICE_REVOKED: { status: 401, message: () => 'this device has been revoked' },
  SIGNATURE_INVALID: { status: 400, message: (d?: string) => d ?? 'the signature does not verify' },
  LICENSE_INVALID: { status: 422, message: (d?: string) => `the license is not acceptable${d ? `: ${d}` : ''}` },
  LICENSE_EXPIRED: { status: 422, message: (d?: string) => d ?? 'the license has already expired' },
  TABLE_NOT_APPROVED: { status: 422, message: (d?: string) => `the license names a table that is not approved for this provider${d ? `: ${d}` : ''}` },
  INVALID_MONTH: { status: 400, message: (d?: string) => `the month is not valid${d ? `: ${d}` : ''}` },
  WEBHOOK_SIGNATURE_INVALID: { status: 400, message: (d?: string) => `the webhook's Stripe signature does not verify${d ? `: ${d}` : ''}` },
  WEBHOOK_REPLAYED: { status: 400, message: (d?: string) => d ?? 'this webhook event was already received' },
  LICENSE_ENDED: { status: 409, message: (d?: string) => d ?? 'the license was already revoked or superseded' },
} as const satisfies Record<string, { status: number; message: (detail?: string) => string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** An error a caller can act on. Thrown anywhere; the HTTP layer maps it through the catalog. */
export class AtollError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(errorCatalog[code].message(detail), { cause: options?.cause });
    this.name = 'AtollError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.details = options?.details;
  }

  /** Rebuilds an error that crossed a process boundary (a worker's answer) with its message as it was. */
  static revive(error: { code: string; message: string; details?: Record<string, unknown> }): AtollError {
    const code = (error.code in errorCatalog ? error.code : 'INTERNAL') as ErrorCode;
    const e = new AtollError(code, undefined, error.details ? { details: error.details } : undefined);
    Object.defineProperty(e, 'message', { value: error.message, enumerable: false, writable: true, configurable: true });
    return e;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export function isAtollError(e: unknown): e is AtollError {
  return e instanceof AtollError;
}
