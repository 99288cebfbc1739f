// The secure-io/sio-go stream format (AES-GCM) that madmin-go wraps around encrypted admin payloads.
//
// Layout, as implemented by github.com/secure-io/sio-go v0.3.1 (sio.go, writer.go, reader.go):
// - the plaintext is cut into fragments of `bufSize` bytes (madmin uses the default 16 KiB); each fragment is sealed
//   on its own, so the ciphertext is the concatenation of `fragment || 16-byte tag` with no length prefixes;
// - the AEAD nonce is the caller's 8-byte nonce followed by a little-endian uint32 sequence number;
// - sequence number 0 is spent once to bind the caller's associated data: the tag of sealing an empty plaintext with it
//   becomes part of every fragment's AAD, so the caller's associated data is authenticated without being sent;
// - fragments use sequence numbers 1, 2, …; each fragment's AAD is `flag || that tag`, where flag is 0x80 on the last
//   fragment and 0x00 otherwise, so truncation or reordering fails authentication;
// - the last fragment holds 1…bufSize bytes (0 only for an empty plaintext), so a ciphertext whose length is an exact
//   multiple of the fragment size ends with a full, final fragment.
// Only the AES-GCM variants are implemented: they are what PBKDF2 payloads use and all node:crypto needs.
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** sio-go's default fragment size, the one madmin-go uses. */
export const SIO_BUF_SIZE = 1 << 14;

const TAG_SIZE = 16;
const NONCE_SIZE = 8;
const MAX_SEQUENCE = 0xffff_ffff;
const FLAG_FINAL = 0x80;
const FLAG_MORE = 0x00;

/** Thrown when a stream fails authentication: wrong key, modified, truncated or reordered data. */
export class NotAuthenticError extends Error {
  constructor() {
    super('encrypted payload is not authentic (wrong key, or the data was modified or truncated)');
    this.name = 'NotAuthenticError';
  }
}

export interface SioStreamOptions {
  /** 16 (AES-128-GCM) or 32 (AES-256-GCM) bytes. */
  key: Uint8Array;
  /** Stream nonce, 8 bytes; must never repeat for one key. */
  nonce: Uint8Array;
  /** Authenticated but not encrypted; must match on both sides. madmin uses none. */
  associatedData?: Uint8Array;
  /** Fragment size; both sides must agree. Defaults to sio-go's 16 KiB. */
  bufSize?: number;
}

interface StreamParams {
  algorithm: 'aes-128-gcm' | 'aes-256-gcm';
  key: Uint8Array;
  nonce: Uint8Array;
  bufSize: number;
  /** Tag of the empty plaintext sealed with sequence number 0 over the caller's associated data. */
  boundTag: Buffer;
}

function streamParams(opts: SioStreamOptions): StreamParams {
  const algorithm = opts.key.length === 16 ? 'aes-128-gcm' : opts.key.length === 32 ? 'aes-256-gcm' : undefined;
  if (!algorithm) throw new RangeError(`sio: AES-GCM key must be 16 or 32 bytes, got ${opts.key.length}`);
  if (opts.nonce.length !== NONCE_SIZE) throw new RangeError(`sio: nonce must be ${NONCE_SIZE} bytes`);
  const bufSize = opts.bufSize ?? SIO_BUF_SIZE;
  if (!Number.isInteger(bufSize) || bufSize <= 0 || bufSize >= 1 << 24) throw new RangeError('sio: invalid bufSize');
  const cipher = createCipheriv(algorithm, opts.key, fragmentNonce(opts.nonce, 0));
  cipher.setAAD(opts.associatedData ?? new Uint8Array(0));
  cipher.final();
  return { algorithm, key: opts.key, nonce: opts.nonce, bufSize, boundTag: cipher.getAuthTag() };
}

function fragmentNonce(nonce: Uint8Array, sequence: number): Buffer {
  const full = Buffer.alloc(NONCE_SIZE + 4);
  full.set(nonce, 0);
  full.writeUInt32LE(sequence, NONCE_SIZE);
  return full;
}

function fragmentAad(params: StreamParams, final: boolean): Buffer {
  return Buffer.concat([Buffer.of(final ? FLAG_FINAL : FLAG_MORE), params.boundTag]);
}

/** Encrypts `plaintext` into the sio-go stream format. */
export function sioSeal(plaintext: Uint8Array, opts: SioStreamOptions): Buffer {
  const params = streamParams(opts);
  const parts: Buffer[] = [];
  let offset = 0;
  let sequence = 1;
  // The writer only seals a full fragment as non-final once it knows more data follows, hence `>` and not `>=`.
  while (plaintext.length - offset > params.bufSize) {
    parts.push(sealFragment(params, sequence, plaintext.subarray(offset, offset + params.bufSize), false));
    offset += params.bufSize;
    sequence = nextSequence(sequence);
  }
  parts.push(sealFragment(params, sequence, plaintext.subarray(offset), true));
  return Buffer.concat(parts);
}

/** Decrypts and verifies a sio-go stream; throws NotAuthenticError on any mismatch. */
export function sioOpen(ciphertext: Uint8Array, opts: SioStreamOptions): Buffer {
  const params = streamParams(opts);
  const fragmentSize = params.bufSize + TAG_SIZE;
  const parts: Buffer[] = [];
  let offset = 0;
  let sequence = 1;
  // Mirrors the reader's one-byte look-ahead: a fragment is final when nothing follows it.
  while (ciphertext.length - offset > fragmentSize) {
    parts.push(openFragment(params, sequence, ciphertext.subarray(offset, offset + fragmentSize), false));
    offset += fragmentSize;
    sequence = nextSequence(sequence);
  }
  const last = ciphertext.subarray(offset);
  if (last.length < TAG_SIZE) throw new NotAuthenticError();
  parts.push(openFragment(params, sequence, last, true));
  return Buffer.concat(parts);
}

function nextSequence(sequence: number): number {
  // A key/nonce pair may not seal more than 2^32-1 fragments (~64 TiB); admin payloads are tiny, but never wrap.
  if (sequence >= MAX_SEQUENCE) throw new RangeError('sio: data limit exceeded');
  return sequence + 1;
}

function sealFragment(params: StreamParams, sequence: number, chunk: Uint8Array, final: boolean): Buffer {
  const cipher = createCipheriv(params.algorithm, params.key, fragmentNonce(params.nonce, sequence));
  cipher.setAAD(fragmentAad(params, final));
  return Buffer.concat([cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
}

function openFragment(params: StreamParams, sequence: number, fragment: Uint8Array, final: boolean): Buffer {
  const body = fragment.subarray(0, fragment.length - TAG_SIZE);
  const tag = fragment.subarray(fragment.length - TAG_SIZE);
  const decipher = createDecipheriv(params.algorithm, params.key, fragmentNonce(params.nonce, sequence));
  decipher.setAuthTag(tag);
  decipher.setAAD(fragmentAad(params, final));
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new NotAuthenticError();
  }
}
