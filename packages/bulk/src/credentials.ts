// Provider bulk credentials (SPEC §4): hands out, lists and revokes the S3 keys a provider's backend puts files with.
// The MinIO side is storage's provisionBulkKey/revokeBulkKey; this service adds the control-plane record, so a
// provider can revoke only its own keys and the operator can see who holds which.
import { AtollError } from '@atoll/errors';
import type { Pool } from '@atoll/db';

export type Database = Pick<Pool, 'query'>;

/**
 * Whoever holds the MinIO admin right mints and revokes the keys (storage's provisionBulkKey/revokeBulkKey): the
 * cleanroom worker, asked over BullMQ by the api, which holds no admin right itself.
 */
export interface BulkKeyMinter {
  mint(providerId: string, expiresAt: Date): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  revoke(providerId: string, accessKeyId: string): Promise<void>;
}

export interface BulkCredentialOptions {
  db: Database;
  keys: BulkKeyMinter;
  stagingBucket: string;
  /** The S3 endpoint as providers reach it (may differ from the one Atoll's services use). */
  endpoint: string;
  region: string;
  defaultTtlSeconds: number;
}

export interface BulkCredentials {
  endpoint: string;
  region: string;
  bucket: string;
  /** Files go under `<prefix><table>/…`. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  expiresAt: string;
}

export class BulkCredentialService {
  constructor(private readonly opts: BulkCredentialOptions) {}

  /** A new key for the provider. Rotation is a new call: earlier keys keep working until they expire or are revoked. */
  async issue(providerId: string, ttlSeconds?: number): Promise<BulkCredentials> {
    const ttl = ttlSeconds ?? this.opts.defaultTtlSeconds;
    const expiresAt = new Date(Date.now() + ttl * 1000);
    const key = await this.opts.keys.mint(providerId, expiresAt);
    try {
      await this.opts.db.query('INSERT INTO bulk_keys (access_key, provider_id, expires_at) VALUES ($1, $2, $3)', [key.accessKeyId, providerId, expiresAt]);
    } catch (e) {
      // A key nobody can list or revoke through Atoll must not stay alive.
      await this.opts.keys.revoke(providerId, key.accessKeyId).catch(() => undefined);
      throw e;
    }
    return {
      endpoint: this.opts.endpoint,
      region: this.opts.region,
      bucket: this.opts.stagingBucket,
      prefix: `${providerId}/`,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      expiresAt: expiresAt.toISOString(),
    };
  }

  /** Revokes one of the provider's own keys; MinIO refuses it from the next request on. */
  async revoke(providerId: string, accessKeyId: string): Promise<void> {
    const { rows } = await this.opts.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM bulk_keys WHERE access_key = $1 AND provider_id = $2', [accessKeyId, providerId]);
    // Another provider's key is as unknown as a key that never existed.
    if (rows.length === 0) throw new AtollError('NOT_FOUND', `no bulk key ${accessKeyId}`);
    await this.opts.keys.revoke(providerId, accessKeyId);
    await this.opts.db.query('UPDATE bulk_keys SET revoked_at = coalesce(revoked_at, now()) WHERE access_key = $1', [accessKeyId]);
  }
}
