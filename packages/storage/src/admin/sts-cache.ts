// Reuses STS credentials minted for the same inline policy and lifetime while enough of that lifetime remains.
// MinIO persists every AssumeRole answer in its IAM store, so minting one per catalog loadTable serialises concurrent
// loads behind those writes (docs/performance.md, Engines). Two requests for the same policy get credentials of
// exactly the same power, so handing both the same keys grants nothing more; callers check who may have them first.
import { createHash } from 'node:crypto';
import type { AssumeRoleOptions, StorageAdmin, TemporaryCredentials } from './storage-admin.js';

export interface StsCredentialCacheOptions {
  /** Credentials are handed out only while at least this many seconds of their lifetime remain. */
  minRemainingSeconds: number;
  /** At most this many distinct policies are kept; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

export class StsCredentialCache {
  readonly #admin: Pick<StorageAdmin, 'assumeRole'>;
  readonly #minRemainingMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  // Map order is insertion order: re-inserting on refresh keeps the oldest entries first for eviction.
  readonly #entries = new Map<string, Promise<TemporaryCredentials>>();

  constructor(admin: Pick<StorageAdmin, 'assumeRole'>, opts: StsCredentialCacheOptions) {
    this.#admin = admin;
    this.#minRemainingMs = opts.minRemainingSeconds * 1000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Credentials for `opts`: cached ones with enough life left, else one AssumeRole shared by concurrent callers. */
  async assumeRole(opts: AssumeRoleOptions): Promise<TemporaryCredentials> {
    if (opts.durationSeconds * 1000 <= this.#minRemainingMs) return this.#admin.assumeRole(opts);
    const key = createHash('sha256').update(`${opts.durationSeconds}\n${opts.role ?? ''}\n${JSON.stringify(opts.policy ?? null)}`).digest('hex');
    const cached = this.#entries.get(key);
    if (cached) {
      const creds = await cached.catch(() => undefined);
      if (creds && creds.expiresAt.getTime() - this.#now() >= this.#minRemainingMs) return creds;
      // Expired, nearly so, or failed: only the first caller to notice replaces it.
      if (this.#entries.get(key) !== cached) return this.assumeRole(opts);
      this.#entries.delete(key);
    }
    const minted = this.#admin.assumeRole(opts);
    this.#entries.set(key, minted);
    // A failed mint is not cached: the next caller tries again.
    minted.catch(() => {
      if (this.#entries.get(key) === minted) this.#entries.delete(key);
    });
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return minted;
  }
}
