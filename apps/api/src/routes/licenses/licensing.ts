// One Licensing service per api instance (shared by the license and log routes and provider creation), built from
// config and the api's deps: signing keys sealed under config, the Postgres log, the Object-Lock archive.
import { Licensing, SigningKeyStore, TransparencyLog, type LicenseArchive } from '@atoll/licensing';
import type { ObjectStore } from '@atoll/storage';
import type { ApiDeps, Config } from '../../deps.js';

export interface LicensingParts {
  keys: SigningKeyStore;
  log: TransparencyLog;
  licensing: Licensing;
}

const built = new WeakMap<ApiDeps, LicensingParts>();

/** Archive in an Object-Lock bucket: refuses to replace an entry, then locks it in COMPLIANCE mode. */
export function objectLockArchive(store: ObjectStore, bucket: string): LicenseArchive {
  return {
    async put(key, bytes, { retainUntil }) {
      const put = await store.client.putObject(bucket, key, bytes, bytes.length, { 'Content-Type': 'application/json', 'If-None-Match': '*' });
      // The bucket is versioned (Object Lock needs it): lock exactly the version just written.
      await store.client.putObjectRetention(bucket, key, { versionId: put.versionId ?? '', mode: 'COMPLIANCE', retainUntilDate: retainUntil.toISOString() });
    },
  };
}

export function licensingFor(config: Config, deps: ApiDeps): LicensingParts {
  const existing = built.get(deps);
  if (existing) return existing;
  const keys = new SigningKeyStore({
    db: deps.pool,
    keks: deps.keks,
    legacySecret: config.ATOLL_SIGNING_KEY_ENCRYPTION_KEY ?? config.ATOLL_TID_KEY,
    logName: config.ATOLL_LOG_ORIGIN,
  });
  const log = new TransparencyLog({ db: deps.pool, keys });
  const licensing = new Licensing({
    db: deps.pool,
    keys,
    log,
    archive: objectLockArchive(deps.store, config.ATOLL_BUCKET_LICENSES),
    retentionDays: config.ATOLL_LICENSE_RETENTION_DAYS,
    liveLicenses: deps.liveLicenses,
  });
  const parts = { keys, log, licensing };
  built.set(deps, parts);
  return parts;
}
