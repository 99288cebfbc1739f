// The environment every Atoll process understands, as composable TypeBox schemas (one source for types and checks).
import { Type, type Static } from '@sinclair/typebox';

const Url = Type.String({ pattern: '^https?://[^\\s]+$' });
const Secret = Type.String({ minLength: 8 });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });

export const BaseConfigSchema = Type.Object({
  ATOLL_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
  }),
  ATOLL_LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  ATOLL_DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  ATOLL_REDIS_URL: Type.String({ pattern: '^rediss?://' }),
  /** Which S3 server ATOLL_S3_ENDPOINT is: picks the StorageAdmin implementation (docs/storage.md). */
  ATOLL_STORAGE: Type.Union([Type.Literal('minio'), Type.Literal('seaweedfs')], { default: 'minio' }),
  ATOLL_S3_ENDPOINT: Url,
  ATOLL_S3_REGION: Type.String({ pattern: '^[a-z0-9-]{2,32}$', default: 'us-east-1' }),
  ATOLL_S3_ACCESS_KEY: Type.String({ minLength: 3 }),
  ATOLL_S3_SECRET_KEY: Secret,
  ATOLL_BUCKET_STAGING: Type.String({ default: 'atoll-staging', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
  ATOLL_BUCKET_LAKE: Type.String({ default: 'atoll-lake', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
  ATOLL_BUCKET_CLEANROOM_PREFIX: Type.String({ default: 'atoll-cr-', pattern: '^[a-z0-9][a-z0-9-]{1,20}$' }),
  ATOLL_WORK_DIR: Type.String({ default: '/tmp/atoll-work' }),
  ATOLL_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 20_000 }),
});

export const KeycloakConfigSchema = Type.Object({
  ATOLL_KEYCLOAK_URL: Url,
  ATOLL_REALM: Type.String({ default: 'atoll', pattern: '^[A-Za-z0-9_-]+$' }),
  ATOLL_KEYCLOAK_AUDIENCE: Type.String({ default: 'atoll-api' }),
  ATOLL_KEYCLOAK_ADMIN_CLIENT_ID: Type.String({ default: 'atoll-admin' }),
  ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET: Secret,
  /** The `acr` a token must carry to change payment settings: the realm's ACR-to-LoA name of password + OTP (level 2). */
  ATOLL_STEP_UP_ACR: Type.String({ default: 'mfa', minLength: 1, maxLength: 64 }),
  /** How fresh that second factor must be: at most this many seconds between the token's `auth_time` and the request. */
  ATOLL_STEP_UP_MAX_AGE_SECONDS: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
});

/** Key-encryption keys of the api's sealed signing keys (token keys, log and provider keys); see docs/security.md. */
export const KekConfigSchema = Type.Object({
  /** Wraps every sealed private key (envelope encryption); its own secret, so it and ATOLL_TID_KEY rotate apart. */
  ATOLL_KEK: Type.String({ minLength: 32 }),
  /** Comma-separated earlier ATOLL_KEK values, still accepted for opening until `npx atoll rotate-kek` re-wrapped everything. */
  ATOLL_KEK_PREVIOUS: Type.Optional(Type.String({ pattern: '^[^,]{32,}(,[^,]{32,})*$' })),
  /** Sealed the log's and providers' keys before ATOLL_KEK existed; read only to open (and re-wrap) those older rows. */
  ATOLL_SIGNING_KEY_ENCRYPTION_KEY: Type.Optional(Type.String({ minLength: 32 })),
});

/** What `npx atoll rotate-kek` needs: the database and the keys (ATOLL_TID_KEY opens rows sealed before ATOLL_KEK). */
export const KekRotationConfigSchema = Type.Composite([
  KekConfigSchema,
  Type.Object({ ATOLL_DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }), ATOLL_TID_KEY: Type.String({ minLength: 32 }) }),
]);

export const ApiConfigSchema = Type.Composite([
  BaseConfigSchema,
  KeycloakConfigSchema,
  Type.Object({
    ATOLL_API_HOST: Type.String({ default: '127.0.0.1' }),
    ATOLL_API_PORT: { ...Port, default: 8080 },
    ATOLL_API_URL: Url,
    ATOLL_S3_PUBLIC_ENDPOINT: Type.Optional(Url),
    ATOLL_STRIPE_API_BASE: Type.Optional(Url),
    /** Verifies Stripe webhooks (POST /v1/billing/webhook); without it the webhook answers 503. */
    ATOLL_STRIPE_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16 })),
    ATOLL_MAX_UPLOAD_BYTES: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
    ATOLL_MAX_UPLOAD_RECORDS: Type.Integer({ minimum: 1, default: 100_000 }),
    /** HMAC key of TIDs (decision 8), the same as the writer's. */
    ATOLL_TID_KEY: Type.String({ minLength: 32 }),
    ...KekConfigSchema.properties,
    /** The Object-Lock (WORM) bucket of raw license log entries. */
    ATOLL_BUCKET_LICENSES: Type.String({ default: 'atoll-licenses', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
    /** The transparency log's origin line and checkpoint key name (C2SP tlog-checkpoint); never change it once used. */
    ATOLL_LOG_ORIGIN: Type.String({ default: 'atoll.local/licenses', pattern: '^[A-Za-z0-9._/:-]{1,200}$' }),
    /** COMPLIANCE-mode retention of archived entries, counted from a license's expiry (revocations: from logging). */
    ATOLL_LICENSE_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36500, default: 3650 }),
    /** How long the api waits for the cleanroom worker to answer an estimate or provision a cleanroom. */
    ATOLL_WORKER_CALL_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 150_000 }),
    /** Default lifetime of a provider's bulk key (SPEC §4); MinIO expires the key itself. */
    ATOLL_BULK_KEY_TTL_SECONDS: Type.Integer({ minimum: 900, maximum: 365 * 24 * 3600, default: 30 * 24 * 3600 }),
    /** The built web portal (apps/portal/dist), served at /portal; default: the repository's build next to the api. */
    ATOLL_PORTAL_DIR: Type.Optional(Type.String({ minLength: 1 })),
    /** Keycloak as a person's browser reaches it (the portal signs in there); default ATOLL_KEYCLOAK_URL. */
    ATOLL_KEYCLOAK_PUBLIC_URL: Type.Optional(Url),
    /** Largest body of any route but uploads (ATOLL_MAX_UPLOAD_BYTES); larger → 413 PAYLOAD_TOO_LARGE. */
    ATOLL_MAX_BODY_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
    /** Time a client has to send a whole request (headers and body) before the api answers 408 and closes. */
    ATOLL_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 120_000 }),
    /** Rate-limit window; each limit below counts requests per window (fixed window, 429 RATE_LIMITED + Retry-After). */
    ATOLL_RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000 }),
    /** Requests per window per API key (Keycloak client), counted in Redis so the limit holds across api replicas. */
    ATOLL_RATE_LIMIT_CLIENT_MAX: Type.Integer({ minimum: 1, default: 12_000 }),
    /** Requests per window per device token, counted in each replica's memory (no Redis round trip per request). */
    ATOLL_RATE_LIMIT_DEVICE_MAX: Type.Integer({ minimum: 1, default: 6_000 }),
    /** Requests per window per client IP for calls without a token (device token grant, registration, log, keys), per replica. */
    ATOLL_RATE_LIMIT_ANONYMOUS_MAX: Type.Integer({ minimum: 1, default: 12_000 }),
  }),
]);

export const WorkerConfigSchema = Type.Composite([
  BaseConfigSchema,
  Type.Object({
    ATOLL_HEALTH_HOST: Type.String({ default: '127.0.0.1' }),
    ATOLL_HEALTH_PORT: { ...Port, default: 0 },
    ATOLL_WORKER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
    ATOLL_QUERY_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 120_000 }),
    ATOLL_QUERY_MEMORY_LIMIT: Type.String({ default: '1GB', pattern: '^[0-9]+(\\.[0-9]+)?\\s*(KB|MB|GB|KiB|MiB|GiB)$' }),
    /** Longest consumer SQL text the gate accepts. */
    ATOLL_QUERY_MAX_LENGTH: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 20_000 }),
    /** Most rows one consumer query may return (estimate or run). */
    ATOLL_QUERY_MAX_RESULT_ROWS: Type.Integer({ minimum: 1, default: 50_000_000 }),
    /** DuckDB threads per consumer query (estimates and subscription runs). */
    ATOLL_QUERY_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  }),
]);

/** The cleanroom worker: subscription runs plus billing's Stripe side (metering is off without a Stripe key). */
export const CleanroomConfigSchema = Type.Composite([
  WorkerConfigSchema,
  Type.Object({
    ATOLL_STRIPE_API_BASE: Type.Optional(Url),
    ATOLL_STRIPE_SECRET_KEY: Type.Optional(Type.String({ pattern: '^(sk|rk)_(test|live)_[A-Za-z0-9_]+$' })),
    /** How often the reconciler sends ledger entries Stripe has not acknowledged. */
    ATOLL_BILLING_RECONCILE_MS: Type.Integer({ minimum: 500, default: 60_000 }),
  }),
]);

export const WriterConfigSchema = Type.Composite([
  WorkerConfigSchema,
  Type.Object({
    /** HMAC key of TIDs (decision 8). Lives in config/secret storage, never in the lake. */
    ATOLL_TID_KEY: Type.String({ minLength: 32 }),
    /** Redis list MinIO's notification target pushes staging-bucket events to (bulk ingest, SPEC §4). */
    ATOLL_BULK_EVENTS_KEY: Type.String({ default: 'atoll:bulk-events', minLength: 1 }),
    /** How often the reconciler lists the staging bucket for objects no notification announced. */
    ATOLL_BULK_RECONCILE_MS: Type.Integer({ minimum: 1000, default: 60_000 }),
    /**
     * An api upload still pending this long has its ingest job put back if the queue has none (or only a failed one):
     * the api stopped between recording it and queueing it, or Redis lost the job. Checked on the reconciler's passes.
     */
    ATOLL_UPLOAD_STRANDED_MS: Type.Integer({ minimum: 1000, default: 600_000 }),
    /** A compressed bulk file is refused once it inflates past this many bytes… */
    ATOLL_BULK_MAX_INFLATED_BYTES: Type.Integer({ minimum: 1024, default: 20 * 1024 * 1024 * 1024 }),
    /** …or past this ratio of inflated to compressed bytes (zip and gzip bombs). */
    ATOLL_BULK_MAX_INFLATE_RATIO: Type.Integer({ minimum: 2, default: 200 }),
    /** The ORC → Parquet converter binary (packages/bulk/orc-to-parquet); without it ORC files are rejected. */
    ATOLL_ORC_CONVERTER: Type.Optional(Type.String({ minLength: 1 })),
    /** ORC stripes larger than this are refused: the converter holds one stripe in memory (writers default to 64 MiB). */
    ATOLL_ORC_MAX_STRIPE_BYTES: Type.Integer({ minimum: 1024 * 1024, default: 512 * 1024 * 1024 }),
    /** DuckDB threads per ingested file (strict read → Parquet); its memory limit is ATOLL_QUERY_MEMORY_LIMIT. */
    ATOLL_WRITER_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  }),
]);

export type BaseConfig = Static<typeof BaseConfigSchema>;
export type ApiConfig = Static<typeof ApiConfigSchema>;
export type WorkerConfig = Static<typeof WorkerConfigSchema>;
export type WriterConfig = Static<typeof WriterConfigSchema>;
export type CleanroomConfig = Static<typeof CleanroomConfigSchema>;
export type KekRotationConfig = Static<typeof KekRotationConfigSchema>;
