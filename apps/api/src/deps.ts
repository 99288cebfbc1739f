// The api's collaborators, built once from config and closed on shutdown. Tests build the same thing.
import type { ApiConfig } from '@atoll/config';
import { ChangeFeed, createPool, type Pool } from '@atoll/db';
import { createLogger } from '@atoll/log';
import { DeviceTokenIssuer, KeycloakClientAdmin, KeycloakVerifier, SigningKeyRing } from '@atoll/identity';
import { LiveLicenseCache } from '@atoll/licensing';
import { keysFromConfig, type KeyEncryptionKeys } from '@atoll/kek';
import { Producer, redisConnection } from '@atoll/queue';
import { ObjectStore, createStorageAdmin, storageDegradations, type StorageAdmin } from '@atoll/storage';
import type { Redis } from 'ioredis';
import { ApprovedSchemas, DeviceDirectory } from './lookups.js';
import { UploadBatcher } from './uploads/batcher.js';

type DeepReadonly<T> = { readonly [K in keyof T]: T[K] };
export type Config = DeepReadonly<ApiConfig>;

export interface ApiDeps {
  pool: Pool;
  redis: Redis;
  producer: Producer;
  store: ObjectStore;
  storageAdmin: StorageAdmin;
  verifier: KeycloakVerifier;
  clientAdmin: KeycloakClientAdmin;
  /** Atoll's own issuer of device access tokens and registration attestations (SPEC §2, §5). */
  deviceTokens: DeviceTokenIssuer;
  /** Postgres change notices (migration 015) that keep the caches below honest. */
  changes: ChangeFeed;
  /** Cached lookups of the device paths: live licenses, active devices, approved schemas. */
  liveLicenses: LiveLicenseCache;
  devices: DeviceDirectory;
  schemas: ApprovedSchemas;
  /** Group commit of small uploads into shared staging objects. */
  uploads: UploadBatcher;
  /** ATOLL_KEK and its predecessors: seal every signing key the api keeps (token, log and provider keys). */
  keks: KeyEncryptionKeys;
  close(): Promise<void>;
}

export function createDeps(config: Config): ApiDeps {
  const log = createLogger({ name: 'api', level: config.ATOLL_LOG_LEVEL });
  const pool = createPool(config.ATOLL_DATABASE_URL, { max: 10, applicationName: 'atoll-api', onError: (err) => log.warn({ op: 'db.pool.error', err: err.message }, 'a database connection was lost') });
  const redis = redisConnection(config.ATOLL_REDIS_URL);
  const producer = new Producer(redis);
  const s3 = { endpoint: config.ATOLL_S3_ENDPOINT, region: config.ATOLL_S3_REGION, accessKey: config.ATOLL_S3_ACCESS_KEY, secretKey: config.ATOLL_S3_SECRET_KEY };
  const store = new ObjectStore(s3);
  const storageAdmin = createStorageAdmin(config.ATOLL_STORAGE, s3);
  // Issue 15 §3: what the S3 server lacks is said at start-up (and in /readyz), never left to be discovered.
  for (const d of storageDegradations(config.ATOLL_STORAGE)) {
    log.warn({ op: 'storage.degraded', storage: config.ATOLL_STORAGE, capability: d.capability, fallback: d.fallback }, `${config.ATOLL_STORAGE} lacks ${d.capability}: ${d.fallback}`);
  }
  const verifier = new KeycloakVerifier({ url: config.ATOLL_KEYCLOAK_URL, realm: config.ATOLL_REALM, audience: config.ATOLL_KEYCLOAK_AUDIENCE });
  const clientAdmin = new KeycloakClientAdmin({
    url: config.ATOLL_KEYCLOAK_URL,
    realm: config.ATOLL_REALM,
    clientId: config.ATOLL_KEYCLOAK_ADMIN_CLIENT_ID,
    clientSecret: config.ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET,
  });
  const keks = keysFromConfig(config);
  // Token keys sealed before ATOLL_KEK existed were derived from ATOLL_TID_KEY; they open until `atoll rotate-kek` runs.
  const deviceTokens = new DeviceTokenIssuer({ keys: new SigningKeyRing({ sql: pool, keks, legacySecret: config.ATOLL_TID_KEY }), issuer: config.ATOLL_API_URL });
  const changes = new ChangeFeed({ connectionString: config.ATOLL_DATABASE_URL, applicationName: 'atoll-api-changes', onError: (err) => log.warn({ op: 'db.changes.error', err: err.message }, 'the change feed lost its connection; caches read through until it is back') });
  // In the background: until it listens, the caches read through on every call.
  void changes.start();
  const uploads = new UploadBatcher({ pool, store, producer, bucket: config.ATOLL_BUCKET_STAGING });
  return {
    pool,
    redis,
    producer,
    store,
    storageAdmin,
    verifier,
    clientAdmin,
    deviceTokens,
    changes,
    liveLicenses: new LiveLicenseCache({ db: pool, feed: changes }),
    devices: new DeviceDirectory({ pool, feed: changes }),
    schemas: new ApprovedSchemas({ pool, feed: changes }),
    uploads,
    keks,
    async close() {
      await uploads.close();
      await changes.close();
      await producer.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
