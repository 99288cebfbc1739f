// Atoll's own token-signing keys: ES256 pairs made by the api, private halves encrypted at rest in Postgres, rotated,
// and published (current and recently retired) as a JWKS so anyone can verify device tokens and attestations.
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { legacyKey, type KeyEncryptionKeys, type LegacyKey } from '@atoll/kek';

/** The slice of a pg Pool this module needs; kept structural so identity does not depend on the db package. */
export interface SqlRunner {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount?: number | null }>;
}

interface KeyRow {
  kid: string;
  public_jwk: JWK;
  private_key: Buffer;
  created_at: Date;
}

interface LoadedKey {
  kid: string;
  createdAt: Date;
  publicJwk: JWK;
  privateKey: CryptoKey;
  /** The same private key for node:crypto, which signs the hot path (access tokens) several times faster. */
  signingKey: KeyObject;
  publicKey: CryptoKey;
}

export const SIGNING_ALG = 'ES256';

export interface SigningKeyRingOptions {
  sql: SqlRunner;
  /** ATOLL_KEK (and previous KEKs): private keys are envelope-encrypted under it. */
  keks: KeyEncryptionKeys;
  /** The secret keys were sealed with before ATOLL_KEK (ATOLL_TID_KEY), so rows from then still open until re-wrapped. */
  legacySecret?: string;
  /** A new key signs after this age of the newest one. */
  rotateAfterMs?: number;
  /** Retired keys stay published (and accepted) this long after they stop signing: longer than any token lives. */
  retainMs?: number;
  /** How long the in-memory copy of the key table is trusted before it is read again. */
  cacheMs?: number;
}

export class SigningKeyRing {
  private readonly sql: SqlRunner;
  private readonly keks: KeyEncryptionKeys;
  private readonly legacy: LegacyKey | undefined;
  readonly rotateAfterMs: number;
  readonly retainMs: number;
  private readonly cacheMs: number;
  private cache: { keys: LoadedKey[]; loadedAt: number } | null = null;
  private loading: Promise<LoadedKey[]> | null = null;
  private lastMissReload = 0;

  constructor(opts: SigningKeyRingOptions) {
    this.sql = opts.sql;
    this.keks = opts.keks;
    this.legacy = opts.legacySecret === undefined ? undefined : legacyKey(opts.legacySecret, 'atoll token signing keys v1');
    this.rotateAfterMs = opts.rotateAfterMs ?? 7 * 24 * 3600_000;
    this.retainMs = opts.retainMs ?? 24 * 3600_000;
    this.cacheMs = opts.cacheMs ?? 60_000;
  }

  private open(kid: string, sealed: Buffer): Buffer {
    return this.keks.open(sealed, `token signing key ${kid}`, this.legacy && { key: this.legacy, aad: kid });
  }

  /** Re-wraps every stored private key under the current KEK (ATOLL_KEK rotation); returns how many rows changed. */
  async rewrapAll(): Promise<number> {
    const { rows } = await this.sql.query('SELECT kid, private_key FROM token_signing_keys');
    let changed = 0;
    for (const row of rows as Array<Pick<KeyRow, 'kid' | 'private_key'>>) {
      const next = this.keks.rewrap(row.private_key, `token signing key ${row.kid}`, this.legacy && { key: this.legacy, aad: row.kid });
      if (next === row.private_key) continue;
      // Only if nobody re-wrapped it meanwhile: the compare keeps a concurrent rotation from being undone.
      const res = await this.sql.query('UPDATE token_signing_keys SET private_key = $2 WHERE kid = $1 AND private_key = $3', [row.kid, next, row.private_key]);
      changed += res.rowCount ?? 0;
    }
    this.cache = null;
    return changed;
  }

  private async load(): Promise<LoadedKey[]> {
    const { rows } = await this.sql.query(
      `SELECT kid, public_jwk, private_key, created_at FROM token_signing_keys
       WHERE created_at > now() - make_interval(secs => $1) ORDER BY created_at DESC, kid`,
      [(this.rotateAfterMs + this.retainMs) / 1000],
    );
    const keys: LoadedKey[] = [];
    for (const row of rows as KeyRow[]) {
      const pkcs8 = this.open(row.kid, row.private_key).toString('utf8');
      keys.push({
        kid: row.kid,
        createdAt: row.created_at,
        publicJwk: row.public_jwk,
        privateKey: await importPKCS8(pkcs8, SIGNING_ALG),
        signingKey: createPrivateKey(pkcs8),
        publicKey: (await importJWK(row.public_jwk, SIGNING_ALG)) as CryptoKey,
      });
    }
    this.cache = { keys, loadedAt: Date.now() };
    return keys;
  }

  private async keys(fresh = false): Promise<LoadedKey[]> {
    if (!fresh && this.cache && Date.now() - this.cache.loadedAt < this.cacheMs) return this.cache.keys;
    this.loading ??= this.load().finally(() => (this.loading = null));
    return this.loading;
  }

  /** Makes a new signing key now; older keys keep verifying until they age out. Returns its kid. */
  async rotate(): Promise<string> {
    const pair = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const sealed = this.keks.seal(Buffer.from(await exportPKCS8(pair.privateKey), 'utf8'), `token signing key ${kid}`);
    await this.sql.query('INSERT INTO token_signing_keys (kid, public_jwk, private_key) VALUES ($1, $2, $3)', [kid, JSON.stringify(publicJwk), sealed]);
    await this.keys(true);
    return kid;
  }

  /** The key that signs now, rotating first when the newest one is due. */
  async current(): Promise<{ kid: string; privateKey: CryptoKey; signingKey: KeyObject }> {
    let keys = await this.keys();
    const newest = keys[0];
    if (!newest || Date.now() - newest.createdAt.getTime() > this.rotateAfterMs) {
      // Replicas may race here and both insert: harmless, both keys are published and the newest signs.
      keys = await this.keys(true);
      const again = keys[0];
      if (!again || Date.now() - again.createdAt.getTime() > this.rotateAfterMs) await this.rotate();
      keys = await this.keys();
    }
    const k = keys[0]!;
    return { kid: k.kid, privateKey: k.privateKey, signingKey: k.signingKey };
  }

  /** The public key for a kid, reading the table again (at most every 5 s) when another replica made a new key. */
  async verificationKey(kid: string): Promise<CryptoKey | null> {
    let hit = (await this.keys()).find((k) => k.kid === kid);
    if (!hit && Date.now() - this.lastMissReload > 5_000) {
      this.lastMissReload = Date.now();
      hit = (await this.keys(true)).find((k) => k.kid === kid);
    }
    return hit?.publicKey ?? null;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    await this.current();
    return { keys: (await this.keys()).map((k) => k.publicJwk) };
  }
}
