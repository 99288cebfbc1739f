// The control-plane reads every device request used to make, answered from memory (FreshCache: positive answers only,
// dropped on the database's change notice, at most one second old): a device's row and a table's approved schema.
import { FreshCache, type ChangeFeed, type Pool } from '@atoll/db';
import type { ColumnSpec } from './schemas.js';

export interface DeviceRecord {
  providerId: string;
  tid: string;
  /** The provider's user id: fills user_id of the device's uploads; never returned by a route. */
  userId: string;
  publicKeyPem: string;
}

/**
 * Devices that are not revoked: what the token endpoint, every device-token request (auth.ts: a revoked device's live
 * tokens stop working) and device uploads (the user id) need. A revoked or unknown device is read from Postgres every
 * time (never cached).
 */
export class DeviceDirectory {
  private readonly cache: FreshCache<DeviceRecord>;

  constructor(private readonly opts: { pool: Pool; feed: ChangeFeed }) {
    this.cache = new FreshCache({ feed: opts.feed, kind: 'device' });
  }

  active(deviceId: string): Promise<DeviceRecord | null> {
    return this.cache.get(deviceId, async () => {
      const { rows } = await this.opts.pool.query<{ provider_id: string; tid: string; user_id: string; public_key_pem: string }>({
        name: 'atoll-active-device-v1',
        text: 'SELECT provider_id, tid, user_id, public_key_pem FROM devices WHERE id = $1 AND revoked_at IS NULL',
        values: [deviceId],
      });
      const d = rows[0];
      return d ? { value: { providerId: d.provider_id, tid: d.tid, userId: d.user_id, publicKeyPem: d.public_key_pem } } : null;
    });
  }

  /** The revoking process forgets the device at once rather than on its own notice. */
  forget(deviceId: string): void {
    this.cache.invalidateGroup(deviceId);
  }
}

/** Approved table schemas by provider and table (what an upload is validated against). */
export class ApprovedSchemas {
  private readonly cache: FreshCache<ColumnSpec[]>;

  constructor(private readonly opts: { pool: Pool; feed: ChangeFeed }) {
    this.cache = new FreshCache({ feed: opts.feed, kind: 'schema' });
  }

  columns(providerId: string, table: string): Promise<ColumnSpec[] | null> {
    return this.cache.get(`${providerId}:${table}`, async () => {
      const { rows } = await this.opts.pool.query<{ columns: ColumnSpec[] }>({
        name: 'atoll-approved-schema-v1',
        text: `SELECT columns FROM table_schemas WHERE provider_id = $1 AND table_name = $2 AND status = 'approved'`,
        values: [providerId, table],
      });
      return rows[0] ? { value: rows[0].columns } : null;
    });
  }
}
