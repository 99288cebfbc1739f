// Log entries: a countersigned license or a revocation. The leaf bytes are the RFC 8785 JSON of the entry; the
// provider's Ed25519 countersignature covers the same JSON without the `countersignature` member.
import { sign as edSign, type KeyObject } from 'node:crypto';
import { canonicalBytes, type LicenseDocument } from './document.js';
import { ed25519Verify } from './note.js';

export interface Countersignature {
  /** Id of the provider signing key (see GET /v1/log/keys). */
  keyId: string;
  alg: 'Ed25519';
  /** base64url Ed25519 signature. */
  sig: string;
}

export interface LicenseEntry {
  v: 1;
  kind: 'license';
  id: string;
  provider: string;
  subject: string;
  /** Present for device-signed licenses; null for delegated ones. */
  document: LicenseDocument | null;
  /** base64url RSASSA-PKCS1-v1_5 SHA-256 by the device key over the document's canonical JSON; null when delegated. */
  signature: string | null;
  /** The device's public key (base64 SPKI DER), so anyone can check `signature` from the log alone. */
  deviceKey: string | null;
  /** For delegated licenses: the provider's own agreement the license stands for. */
  delegated: DelegatedTerms | null;
  /** Licenses this one replaces (same provider and subject, tables a subset of this one's). */
  supersedes: string[];
  loggedAt: string;
  countersignature: Countersignature;
}

export interface DelegatedTerms {
  tables: string[];
  tags: string[];
  uses: Array<{ usecases: string[]; destinations: string[] }>;
  terms: { sha256: string; uri?: string };
  expiry: string;
}

export interface RevocationEntry {
  v: 1;
  kind: 'revocation';
  id: string;
  provider: string;
  subject: string;
  license: string;
  revokedBy: { kind: 'device'; id: string } | { kind: 'provider'; id: string };
  loggedAt: string;
  countersignature: Countersignature;
}

export type LogEntry = LicenseEntry | RevocationEntry;
export type UnsignedEntry<E extends LogEntry = LogEntry> = Omit<E, 'countersignature'>;

export interface EntrySigner {
  keyId: string;
  privateKey: KeyObject;
}

export function countersign<E extends LogEntry>(body: UnsignedEntry<E>, signer: EntrySigner): E {
  const sig = edSign(null, canonicalBytes(body), signer.privateKey).toString('base64url');
  return { ...body, countersignature: { keyId: signer.keyId, alg: 'Ed25519', sig } } as E;
}

export function verifyCountersignature(entry: LogEntry, publicKey: Uint8Array): boolean {
  const { countersignature, ...body } = entry;
  if (countersignature?.alg !== 'Ed25519' || typeof countersignature.sig !== 'string') return false;
  return ed25519Verify(publicKey, canonicalBytes(body), Buffer.from(countersignature.sig, 'base64url'));
}

/** The leaf bytes of an entry. */
export function entryLeaf(entry: LogEntry): Buffer {
  return canonicalBytes(entry);
}

/** The terms a license grants, whether device-signed or delegated. */
export function grantedTerms(entry: LicenseEntry): DelegatedTerms {
  if (entry.document) {
    const d = entry.document;
    return { tables: d.tables, tags: d.tags, uses: d.uses, terms: d.terms, expiry: d.expiry };
  }
  if (!entry.delegated) throw new Error('a license entry has either a document or delegated terms');
  return entry.delegated;
}
