// `npx atoll rotate-kek`: after ATOLL_KEK changed (the old value moved to ATOLL_KEK_PREVIOUS), re-wraps every sealed
// signing key the api keeps — token keys, the log's and the providers' — under the new KEK, so the old one can be
// dropped. Rows sealed before ATOLL_KEK existed (under a key derived from ATOLL_TID_KEY) are moved over too.
// Safe to run while api replicas serve: each row is swapped only if unchanged since it was read, and replicas open
// both the old and the new form as long as the old KEK stays in ATOLL_KEK_PREVIOUS.
import { KekRotationConfigSchema, loadConfig, type KekRotationConfig } from '@atoll/config';
import { createPool, type Pool } from '@atoll/db';
import { SigningKeyRing } from '@atoll/identity';
import { keysFromConfig } from '@atoll/kek';
import { SigningKeyStore } from '@atoll/licensing';

export interface KekRotation {
  kekId: string;
  tokenKeys: number;
  licenseKeys: number;
}

export async function rotateKek(pool: Pool, config: Readonly<KekRotationConfig>): Promise<KekRotation> {
  const keks = keysFromConfig(config);
  const ring = new SigningKeyRing({ sql: pool, keks, legacySecret: config.ATOLL_TID_KEY });
  // The log name only matters when a key is created, which re-wrapping never does.
  const store = new SigningKeyStore({ db: pool, keks, legacySecret: config.ATOLL_SIGNING_KEY_ENCRYPTION_KEY ?? config.ATOLL_TID_KEY, logName: 'rotate-kek' });
  return { kekId: keks.currentId, tokenKeys: await ring.rewrapAll(), licenseKeys: await store.rewrapAll() };
}

export async function main(): Promise<number> {
  let config: KekRotationConfig;
  try {
    config = loadConfig(KekRotationConfigSchema);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: ATOLL_DATABASE_URL=… ATOLL_TID_KEY=… ATOLL_KEK=<new> ATOLL_KEK_PREVIOUS=<old> atoll rotate-kek\n`);
    return 2;
  }
  const pool = createPool(config.ATOLL_DATABASE_URL, { max: 2, applicationName: 'atoll-rotate-kek' });
  try {
    const r = await rotateKek(pool, config);
    // Counts and the KEK's id only: never a key.
    process.stdout.write(`re-wrapped under key-encryption key ${r.kekId}: ${r.tokenKeys} token signing key(s), ${r.licenseKeys} license signing key(s)\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`rotate-kek failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await pool.end();
  }
}
