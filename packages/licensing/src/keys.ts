// Ed25519 signing keys of the transparency log and of each provider: generated server-side, private halves
// envelope-encrypted under ATOLL_KEK (never stored in the clear), rotatable, old public keys kept for verifying.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { legacyKey, type KeyEncryptionKeys, type LegacyKey } from '@atoll/kek';
import type { Queryable } from './live.js';
import { sha256 } from './merkle.js';
import { noteKeyId, verifierKey } from './note.js';

export interface SigningKey {
  id: string;
  name: string;
  publicKey: Buffer;
  privateKey: KeyObject;
}

export interface PublicSigningKey {
  id: string;
  ownerKind: 'log' | 'provider';
  providerId: string | null;
  name: string;
  /** base64 of the raw 32-byte Ed25519 public key. */
  publicKey: string;
  createdAt: string;
  retiredAt: string | null;
}

interface KeyRow {
  id: string;
  owner_kind: 'log' | 'provider';
  owner_id: string | null;
  name: string;
  public_key: Buffer;
  private_key_enc: Buffer;
  enc_key_id: string;
  created_at: Date;
  retired_at: Date | null;
}

export interface SigningKeyStoreOptions {
  db: Queryable;
  /** ATOLL_KEK (and previous KEKs): private keys are envelope-encrypted under it. */
  keks: KeyEncryptionKeys;
  /** The secret keys were sealed with before ATOLL_KEK (ATOLL_SIGNING_KEY_ENCRYPTION_KEY, else ATOLL_TID_KEY). */
  legacySecret?: string;
  /** The log's origin line, which is also its key name in signed notes. */
  logName: string;
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

export class SigningKeyStore {
  private readonly db: Queryable;
  private readonly keks: KeyEncryptionKeys;
  private readonly legacy: LegacyKey | undefined;
  readonly logName: string;
  private readonly active = new Map<string, SigningKey>();

  constructor(opts: SigningKeyStoreOptions) {
    this.db = opts.db;
    this.logName = opts.logName;
    this.keks = opts.keks;
    this.legacy = opts.legacySecret === undefined ? undefined : legacyKey(opts.legacySecret, 'atoll license signing keys v1');
  }

  /** The id of the KEK new keys are wrapped with (stored in `enc_key_id`). */
  get encKeyId(): string {
    return this.keks.currentId;
  }

  private open(row: KeyRow): SigningKey {
    const der = this.keks.open(row.private_key_enc, `license signing key ${row.id}`, this.legacy && { key: this.legacy, aad: row.id });
    return { id: row.id, name: row.name, publicKey: row.public_key, privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
  }

  /** Re-wraps every stored private key under the current KEK (ATOLL_KEK rotation); returns how many rows changed. */
  async rewrapAll(): Promise<number> {
    const { rows } = await this.db.query<Pick<KeyRow, 'id' | 'private_key_enc'>>('SELECT id, private_key_enc FROM signing_keys');
    let changed = 0;
    for (const row of rows) {
      const next = this.keks.rewrap(row.private_key_enc, `license signing key ${row.id}`, this.legacy && { key: this.legacy, aad: row.id });
      if (next === row.private_key_enc) continue;
      // Only if nobody re-wrapped it meanwhile: the compare keeps a concurrent rotation from being undone.
      const res = await this.db.query('UPDATE signing_keys SET private_key_enc = $2, enc_key_id = $3 WHERE id = $1 AND private_key_enc = $4', [row.id, next, this.keks.currentId, row.private_key_enc]);
      changed += res.rowCount ?? 0;
    }
    return changed;
  }

  private async create(owner: { kind: 'log' } | { kind: 'provider'; providerId: string }): Promise<void> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = rawPublicKey(publicKey);
    const name = owner.kind === 'log' ? this.logName : `atoll-provider-${owner.providerId}`;
    const id = owner.kind === 'log' ? `log-${noteKeyId(name, raw).toString('hex')}` : `pk-${sha256(raw).subarray(0, 8).toString('hex')}`;
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    // Racing creators: the partial unique index keeps exactly one active key; the loser's insert does nothing.
    await this.db.query(
      `INSERT INTO signing_keys (id, owner_kind, owner_id, name, public_key, private_key_enc, enc_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [id, owner.kind, owner.kind === 'provider' ? owner.providerId : null, name, raw, this.keks.seal(der, `license signing key ${id}`), this.encKeyId],
    );
  }

  private async activeRow(owner: { kind: 'log' } | { kind: 'provider'; providerId: string }): Promise<KeyRow | undefined> {
    const { rows } =
      owner.kind === 'log'
        ? await this.db.query<KeyRow>(`SELECT * FROM signing_keys WHERE owner_kind = 'log' AND retired_at IS NULL`)
        : await this.db.query<KeyRow>(`SELECT * FROM signing_keys WHERE owner_kind = 'provider' AND owner_id = $1 AND retired_at IS NULL`, [owner.providerId]);
    return rows[0];
  }

  private async signer(owner: { kind: 'log' } | { kind: 'provider'; providerId: string }): Promise<SigningKey> {
    const cacheKey = owner.kind === 'log' ? 'log' : owner.providerId;
    const cached = this.active.get(cacheKey);
    if (cached) return cached;
    let row = await this.activeRow(owner);
    if (!row) {
      await this.create(owner);
      row = await this.activeRow(owner);
      if (!row) throw new Error('a signing key vanished right after creation');
    }
    const key = this.open(row);
    this.active.set(cacheKey, key);
    return key;
  }

  /** The log's active checkpoint key (made on first use). */
  logKey(): Promise<SigningKey> {
    return this.signer({ kind: 'log' });
  }

  /** The provider's active countersigning key (made at provider creation, or on first use for older providers). */
  providerKey(providerId: string): Promise<SigningKey> {
    return this.signer({ kind: 'provider', providerId });
  }

  /** Retires the provider's active key and makes a new one; the old public key stays published for verification. */
  async rotateProviderKey(providerId: string): Promise<SigningKey> {
    await this.db.query(`UPDATE signing_keys SET retired_at = now() WHERE owner_kind = 'provider' AND owner_id = $1 AND retired_at IS NULL`, [providerId]);
    this.active.delete(providerId);
    return this.providerKey(providerId);
  }

  /** Public keys: the log's (with the note verifier key) and the providers' (all, or one provider's). */
  async publicKeys(opts: { providerId?: string } = {}): Promise<{ log: Array<PublicSigningKey & { verifierKey: string }>; providers: PublicSigningKey[] }> {
    const { rows } = await this.db.query<KeyRow>(
      `SELECT id, owner_kind, owner_id, name, public_key, created_at, retired_at FROM signing_keys
       WHERE owner_kind = 'log' OR ($1::uuid IS NULL OR owner_id = $1::uuid) ORDER BY created_at, id`,
      [opts.providerId ?? null],
    );
    const pub = (r: KeyRow): PublicSigningKey => ({
      id: r.id,
      ownerKind: r.owner_kind,
      providerId: r.owner_id,
      name: r.name,
      publicKey: r.public_key.toString('base64'),
      createdAt: r.created_at.toISOString(),
      retiredAt: r.retired_at?.toISOString() ?? null,
    });
    return {
      log: rows.filter((r) => r.owner_kind === 'log').map((r) => ({ ...pub(r), verifierKey: verifierKey(r.name, r.public_key) })),
      providers: rows.filter((r) => r.owner_kind === 'provider').map(pub),
    };
  }
}
