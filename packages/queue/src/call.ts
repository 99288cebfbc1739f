// Request/reply over BullMQ: the caller enqueues a job that carries an ephemeral X25519 public key and waits for it
// to finish; the worker returns its answer sealed to that key (ECDH → HKDF-SHA256 → AES-256-GCM). BullMQ keeps
// return values in the job hash and in the queue's event stream, so without this a new cleanroom secret or sample
// rows would sit readable in Redis. Only the waiting caller, which alone holds the private key, can open the answer.
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

export interface SealedReply {
  v: 1;
  /** The worker's ephemeral public key (base64 SPKI DER). */
  epk: string;
  iv: string;
  ct: string;
  tag: string;
}

/** What a served call answers: its value, or the error a user should see (code from the error catalog). */
export type CallOutcome<R> = { ok: true; value: R } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

const INFO = Buffer.from('atoll/queue/sealed-reply/v1');

function aeadKey(privateKey: KeyObject, publicKey: KeyObject, salt: Buffer): Buffer {
  const shared = diffieHellman({ privateKey, publicKey });
  return Buffer.from(hkdfSync('sha256', shared, salt, INFO, 32));
}

const spki = (k: KeyObject): string => k.export({ type: 'spki', format: 'der' }).toString('base64');
const fromSpki = (b64: string): KeyObject => createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });

/** A one-use reply key: its public half goes into the job, `open` unseals the worker's answer. */
export function newReplyKey(): { publicKey: string; open<R>(reply: unknown): CallOutcome<R> } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const mine = spki(publicKey);
  return {
    publicKey: mine,
    open<R>(reply: unknown): CallOutcome<R> {
      const r = reply as Partial<SealedReply> | null;
      if (!r || r.v !== 1 || typeof r.epk !== 'string' || typeof r.iv !== 'string' || typeof r.ct !== 'string' || typeof r.tag !== 'string') {
        throw new Error('the worker answered with something that is not a sealed reply');
      }
      const iv = Buffer.from(r.iv, 'base64');
      const key = aeadKey(privateKey, fromSpki(r.epk), Buffer.from(mine + r.epk));
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(mine));
      decipher.setAuthTag(Buffer.from(r.tag, 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(r.ct, 'base64')), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as CallOutcome<R>;
    },
  };
}

/** Seals `outcome` to the caller's reply key (worker side). */
export function sealReply(replyTo: string, outcome: CallOutcome<unknown>): SealedReply {
  const theirs = fromSpki(replyTo);
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const epk = spki(publicKey);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aeadKey(privateKey, theirs, Buffer.from(replyTo + epk)), iv);
  cipher.setAAD(Buffer.from(replyTo));
  const ct = Buffer.concat([cipher.update(Buffer.from(JSON.stringify(outcome), 'utf8')), cipher.final()]);
  return { v: 1, epk, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
}
