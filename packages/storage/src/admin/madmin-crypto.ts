// madmin-go's EncryptData/DecryptData envelope for admin request and response bodies, PBKDF2 + AES-256-GCM variant.
//
// Layout (madmin-go v3 encrypt.go): salt (32 bytes) | algorithm id (1 byte) | nonce (8 bytes) | sio-go stream.
// The 32-byte stream key is derived from the caller's secret key and the salt. madmin-go knows three ids:
//   0x00 argon2id + AES-256-GCM, 0x01 argon2id + ChaCha20-Poly1305, 0x02 PBKDF2-SHA256 (8192 rounds) + AES-256-GCM.
// MinIO's DecryptData accepts all three whatever its build (the switch does not depend on FIPS mode), so we always
// send 0x02: it needs only node:crypto, whereas argon2id would add a native dependency (node:crypto gains argon2 only
// in Node 24). The server encrypts its responses with argon2id unless it is a FIPS build, so decryptAdminPayload can
// read those only when they use 0x02; it reports the others clearly instead of failing as "not authentic".
import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { sioOpen, sioSeal } from './sio-stream.js';

const pbkdf2Async = promisify(pbkdf2);

const SALT_SIZE = 32;
const NONCE_SIZE = 8;
const HEADER_SIZE = SALT_SIZE + 1 + NONCE_SIZE;
const KEY_SIZE = 32;
const PBKDF2_ROUNDS = 8192;

export const MadminAlgorithm = {
  argon2idAesGcm: 0x00,
  argon2idChaCha20Poly1305: 0x01,
  pbkdf2AesGcm: 0x02,
} as const;

/** Thrown for a payload this implementation cannot read (too short, unknown or argon2id algorithm). */
export class UnsupportedPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPayloadError';
  }
}

/** Whether `data` looks like a madmin-encrypted payload (same test as madmin-go's IsEncrypted). */
export function isAdminPayloadEncrypted(data: Uint8Array): boolean {
  if (data.length <= SALT_SIZE) return false;
  const id = data[SALT_SIZE];
  return id === MadminAlgorithm.argon2idAesGcm || id === MadminAlgorithm.argon2idChaCha20Poly1305 || id === MadminAlgorithm.pbkdf2AesGcm;
}

async function deriveKey(password: string, salt: Uint8Array): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, PBKDF2_ROUNDS, KEY_SIZE, 'sha256');
}

export interface EncryptAdminPayloadOptions {
  /** The secret key of the credentials that sign the request; the server decrypts with the same one. */
  password: string;
  data: Uint8Array;
}

/** Encrypts an admin request body the way madmin-go's EncryptData does, PBKDF2 variant. */
export async function encryptAdminPayload(opts: EncryptAdminPayloadOptions): Promise<Buffer> {
  const salt = randomBytes(SALT_SIZE);
  const nonce = randomBytes(NONCE_SIZE);
  const key = await deriveKey(opts.password, salt);
  const stream = sioSeal(opts.data, { key, nonce });
  return Buffer.concat([salt, Buffer.of(MadminAlgorithm.pbkdf2AesGcm), nonce, stream]);
}

export interface DecryptAdminPayloadOptions {
  password: string;
  data: Uint8Array;
}

/**
 * Decrypts a madmin EncryptData payload. Throws NotAuthenticError for a wrong password or modified data, and
 * UnsupportedPayloadError for payloads that are malformed or use argon2id.
 */
export async function decryptAdminPayload(opts: DecryptAdminPayloadOptions): Promise<Buffer> {
  const { data } = opts;
  if (data.length < HEADER_SIZE) throw new UnsupportedPayloadError('encrypted payload is shorter than its header');
  const salt = data.subarray(0, SALT_SIZE);
  const id = data[SALT_SIZE];
  const nonce = data.subarray(SALT_SIZE + 1, HEADER_SIZE);
  switch (id) {
    case MadminAlgorithm.pbkdf2AesGcm: {
      const key = await deriveKey(opts.password, salt);
      return sioOpen(data.subarray(HEADER_SIZE), { key, nonce });
    }
    case MadminAlgorithm.argon2idAesGcm:
    case MadminAlgorithm.argon2idChaCha20Poly1305:
      throw new UnsupportedPayloadError('encrypted payload uses argon2id key derivation, which this client does not implement');
    default:
      throw new UnsupportedPayloadError(`encrypted payload has an unknown algorithm id ${String(id)}`);
  }
}
