// Envelope encryption of secrets at rest (the api's sealed signing keys) under ATOLL_KEK, a key-encryption key of its
// own: each secret is encrypted with a fresh data key (AES-256-GCM), and only that data key is wrapped with the KEK
// and stored beside it with the KEK's id. Rotation re-wraps the data keys under a new KEK without touching the
// secrets; previous KEKs keep opening what they wrapped until the re-wrap has run.
//
// Hand-written on node:crypto rather than a library: the format is 5 fields of AES-GCM output, and a JOSE/JWE
// envelope would add a JSON layer and an algorithm negotiation that nothing here needs.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** First bytes of every envelope: tells it apart from the single-key format sealed before ATOLL_KEK existed. */
const MAGIC = Buffer.from('AKE1', 'ascii');
const ID_BYTES = 8;
const IV = 12;
const TAG = 16;
const DATA_KEY = 32;
const WRAPPED = IV + TAG + DATA_KEY;
const HEADER = MAGIC.length + ID_BYTES + WRAPPED;

export class KekError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KekError';
  }
}

interface Kek {
  id: string;
  key: Buffer;
}

/** A KEK from its configured text (≥ 32 characters): HKDF-SHA256 so any high-entropy string yields an AES-256 key. */
function kekFrom(secret: string): Kek {
  if (secret.length < 32) throw new KekError('a key-encryption key must be at least 32 characters');
  const key = Buffer.from(hkdfSync('sha256', secret, 'atoll', 'atoll key-encryption key v1', 32));
  // Names the KEK without revealing it (a MAC under the key itself, truncated).
  const id = createHmac('sha256', key).update('atoll kek id').digest().subarray(0, ID_BYTES).toString('hex');
  return { id, key };
}

function gcmSeal(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV + TAG) throw new KekError('sealed value is too short');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(sealed.subarray(IV + TAG)), d.final()]);
}

export interface KeyEncryptionKeysOptions {
  /** ATOLL_KEK: wraps every new secret. */
  current: string;
  /** ATOLL_KEK_PREVIOUS: older KEKs, still accepted for opening until `rewrap` has moved everything to `current`. */
  previous?: readonly string[];
}

/** Opens values sealed before envelopes existed: AES-256-GCM (iv ‖ tag ‖ ciphertext) under one derived key. */
export interface LegacyKey {
  key: Buffer;
}

/** A legacy key with the associated data that format bound each value to (it differs from the envelope's context). */
export interface LegacySeal {
  key: LegacyKey;
  aad: string;
}

export class KeyEncryptionKeys {
  private readonly current: Kek;
  private readonly byId = new Map<string, Kek>();

  constructor(opts: KeyEncryptionKeysOptions) {
    this.current = kekFrom(opts.current);
    for (const k of [this.current, ...(opts.previous ?? []).map(kekFrom)]) this.byId.set(k.id, k);
  }

  /** The id of the KEK new envelopes are wrapped with (stored beside them, safe to log). */
  get currentId(): string {
    return this.current.id;
  }

  /** Envelope of `plain`, bound to `context` (e.g. the key's id): a value moved to another row does not open. */
  seal(plain: Buffer, context: string): Buffer {
    const aad = Buffer.from(context, 'utf8');
    const dataKey = randomBytes(DATA_KEY);
    try {
      return Buffer.concat([MAGIC, Buffer.from(this.current.id, 'hex'), this.wrap(this.current, dataKey, aad), gcmSeal(dataKey, plain, aad)]);
    } finally {
      dataKey.fill(0);
    }
  }

  /** The KEK id an envelope names, or null for a value sealed in the older single-key format. */
  static kekIdOf(sealed: Buffer): string | null {
    if (sealed.length < HEADER || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) return null;
    return sealed.subarray(MAGIC.length, MAGIC.length + ID_BYTES).toString('hex');
  }

  /** Opens an envelope with whichever configured KEK wrapped it; a legacy key opens the older format. */
  open(sealed: Buffer, context: string, legacy?: LegacySeal): Buffer {
    const aad = Buffer.from(context, 'utf8');
    const id = KeyEncryptionKeys.kekIdOf(sealed);
    if (id === null) {
      if (!legacy) throw new KekError(`${context}: not an envelope, and no legacy key is configured to open it`);
      try {
        return gcmOpen(legacy.key.key, sealed, Buffer.from(legacy.aad, 'utf8'));
      } catch {
        throw new KekError(`${context}: does not open under the legacy key (sealed under another ATOLL_TID_KEY?)`);
      }
    }
    const dataKey = this.unwrap(id, sealed, aad, context);
    try {
      return gcmOpen(dataKey, sealed.subarray(HEADER), aad);
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * The same secret wrapped under the current KEK: for an envelope only its data key is re-wrapped (the encrypted
   * secret is kept byte for byte); a legacy value is opened and sealed anew. Returns `sealed` itself when nothing changes.
   */
  rewrap(sealed: Buffer, context: string, legacy?: LegacySeal): Buffer {
    const id = KeyEncryptionKeys.kekIdOf(sealed);
    if (id === this.current.id) return sealed;
    if (id === null) {
      const plain = this.open(sealed, context, legacy);
      try {
        return this.seal(plain, context);
      } finally {
        plain.fill(0);
      }
    }
    const aad = Buffer.from(context, 'utf8');
    const dataKey = this.unwrap(id, sealed, aad, context);
    try {
      return Buffer.concat([MAGIC, Buffer.from(this.current.id, 'hex'), this.wrap(this.current, dataKey, aad), sealed.subarray(HEADER)]);
    } finally {
      dataKey.fill(0);
    }
  }

  private wrap(kek: Kek, dataKey: Buffer, aad: Buffer): Buffer {
    // The wrapped data key is bound to the context as well, so swapping headers between rows fails too.
    return gcmSeal(kek.key, dataKey, Buffer.concat([Buffer.from('atoll kek wrap\u0000'), aad]));
  }

  private unwrap(id: string, sealed: Buffer, aad: Buffer, context: string): Buffer {
    const kek = this.byId.get(id);
    if (!kek) throw new KekError(`${context} is wrapped under key-encryption key ${id}, which is neither ATOLL_KEK nor in ATOLL_KEK_PREVIOUS`);
    const wrapped = sealed.subarray(MAGIC.length + ID_BYTES, HEADER);
    try {
      return gcmOpen(kek.key, wrapped, Buffer.concat([Buffer.from('atoll kek wrap\u0000'), aad]));
    } catch {
      throw new KekError(`${context}: the data key does not open under key-encryption key ${id} (tampered, or another row's)`);
    }
  }
}

/** The single key older versions sealed with, derived from ATOLL_TID_KEY (or another secret) under `label`. */
export function legacyKey(secret: string, label: string): LegacyKey {
  return { key: Buffer.from(hkdfSync('sha256', secret, 'atoll', label, 32)) };
}

/** The ring from configuration: ATOLL_KEK wraps, the comma-separated ATOLL_KEK_PREVIOUS still open. */
export function keysFromConfig(config: { readonly ATOLL_KEK: string; readonly ATOLL_KEK_PREVIOUS?: string | undefined }): KeyEncryptionKeys {
  const previous = (config.ATOLL_KEK_PREVIOUS ?? '').split(',').filter((k) => k !== '');
  return new KeyEncryptionKeys({ current: config.ATOLL_KEK, previous });
}
