// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519, and the checkpoint body of the transparency log
// (https://c2sp.org/tlog-checkpoint). Hand-written: no maintained JavaScript implementation exists; the format is
// a few lines and node:crypto provides Ed25519.
import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { sha256 } from './merkle.js';

const ED25519 = 0x01;
const DASH = '\u2014';

/** The 4-byte key id of an Ed25519 note key: SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4]. */
export function noteKeyId(name: string, publicKey: Uint8Array): Buffer {
  return sha256(Buffer.from(`${name}\n`, 'utf8'), Buffer.from([ED25519]), publicKey).subarray(0, 4);
}

/** The verifier key string `<name>+<hex key id>+<base64(0x01 ‖ public key)>` that note tooling (e.g. Go's sumdb/note) reads. */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  return `${name}+${noteKeyId(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), publicKey]).toString('base64')}`;
}

export function parseVerifierKey(vkey: string): { name: string; keyId: Buffer; publicKey: Buffer } {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey);
  if (!m) throw new Error('not a note verifier key');
  const raw = Buffer.from(m[3]!, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519) throw new Error('not an Ed25519 note verifier key');
  const publicKey = raw.subarray(1);
  const keyId = Buffer.from(m[2]!, 'hex');
  if (!noteKeyId(m[1]!, publicKey).equals(keyId)) throw new Error('the verifier key id does not match its key');
  return { name: m[1]!, keyId, publicKey };
}

export function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return edVerify(null, message, ed25519PublicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

export interface NoteSigner {
  name: string;
  publicKey: Uint8Array;
  privateKey: KeyObject;
}

/** Signs `text` (which must end in a newline) and returns the whole note. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n') || text.includes('\n\n')) throw new Error('a note text ends with one newline and has no blank line');
  const sig = edSign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  const line = Buffer.concat([noteKeyId(signer.name, signer.publicKey), sig]).toString('base64');
  return `${text}\n${DASH} ${signer.name} ${line}\n`;
}

export interface NoteKey {
  name: string;
  publicKey: Uint8Array;
}

/** Opens a note: returns its text if at least one signature line verifies with one of `keys`, else throws. */
export function openNote(note: string, keys: readonly NoteKey[]): { text: string; verifiedBy: string[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('malformed note: no signature block');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  const verifiedBy: string[] = [];
  for (const line of lines) {
    const m = new RegExp(`^${DASH} (\\S+) ([A-Za-z0-9+/=]+)$`).exec(line);
    if (!m) throw new Error('malformed note: bad signature line');
    const blob = Buffer.from(m[2]!, 'base64');
    // Only the canonical encoding: Node's decoder ignores stray bits, which would let a changed note still verify.
    if (blob.toString('base64') !== m[2]) throw new Error('malformed note: signature is not canonical base64');
    if (blob.length < 5) throw new Error('malformed note: short signature');
    for (const k of keys) {
      if (k.name !== m[1] || !noteKeyId(k.name, k.publicKey).equals(blob.subarray(0, 4))) continue;
      if (ed25519Verify(k.publicKey, Buffer.from(text, 'utf8'), blob.subarray(4))) verifiedBy.push(k.name);
    }
  }
  if (verifiedBy.length === 0) throw new Error('no signature on the note verifies with the known keys');
  return { text, verifiedBy };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

/** Parses a checkpoint body (origin, decimal size, base64 root; extension lines ignored). */
export function parseCheckpointText(text: string): Checkpoint {
  const [origin, size, root] = text.split('\n');
  if (!origin || !size || !/^(0|[1-9][0-9]*)$/.test(size) || !root) throw new Error('malformed checkpoint');
  const r = Buffer.from(root, 'base64');
  if (r.length !== 32 || r.toString('base64') !== root) throw new Error('malformed checkpoint root');
  const n = Number(size);
  if (!Number.isSafeInteger(n)) throw new Error('checkpoint size out of range');
  return { origin, size: n, root: r };
}

/** Verifies a signed checkpoint with the log's keys and returns its contents. */
export function openCheckpoint(note: string, keys: readonly NoteKey[]): Checkpoint {
  const { text } = openNote(note, keys);
  const c = parseCheckpointText(text);
  if (!keys.some((k) => k.name === c.origin)) throw new Error(`the checkpoint's origin ${c.origin} is not the log's key name`);
  return c;
}
