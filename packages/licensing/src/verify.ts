// Offline verification of a license (or revocation) receipt with public keys only: what `npx atoll verify-license`
// runs. Trusts nothing in the file but the keys it is given.
import { createPublicKey } from 'node:crypto';
import { canonicalBytes, verifyDeviceSignature } from './document.js';
import { verifyCountersignature, type LogEntry } from './entries.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { openCheckpoint, parseVerifierKey, type NoteKey } from './note.js';

/** GET /v1/log/keys, or the part of it a verifier needs. */
export interface PublishedKeys {
  log: Array<{ verifierKey: string }>;
  providers: Array<{ id: string; providerId: string | null; publicKey: string }>;
}

/** What POST /v1/licenses (or DELETE, or the delegated route) returned: at least the log receipt. */
export interface LicenseReceipt {
  id: string;
  document?: unknown;
  signature?: unknown;
  countersignature?: unknown;
  log: { index: number; checkpoint: string; inclusionProof: string[]; leaf: string };
}

/** The file `atoll verify-license` reads. Documented in docs/licensing.md. */
export interface LicenseBundle {
  license: LicenseReceipt;
  keys?: PublishedKeys;
  /** A newer checkpoint (GET /v1/log/checkpoint) and the consistency proof to it (GET /v1/log/proofs/consistency). */
  consistency?: { checkpoint: string; proof: string[] };
}

export interface VerificationCheck {
  check: string;
  ok: boolean;
  detail?: string;
}

export interface VerificationResult {
  ok: boolean;
  entry: LogEntry | null;
  checks: VerificationCheck[];
}

const b64 = (s: string) => Buffer.from(s, 'base64');
/** A malformed (e.g. tampered) input makes a check fail, never the verifier throw. */
function safe(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}

export function verifyLicenseBundle(bundle: LicenseBundle, keysOverride?: PublishedKeys): VerificationResult {
  const checks: VerificationCheck[] = [];
  const add = (check: string, ok: boolean, detail?: string) => {
    checks.push({ check, ok, ...(detail ? { detail } : {}) });
    return ok;
  };
  const keys = keysOverride ?? bundle.keys;
  if (!keys || !Array.isArray(keys.log) || !Array.isArray(keys.providers)) {
    add('keys', false, 'no public keys: put them in the file ("keys": { log, providers }) or pass --keys');
    return { ok: false, entry: null, checks };
  }
  // The file is untrusted input: every shape it may have ends in a failed check, never in a crash.
  const r = bundle.license;
  let entry: LogEntry | null = null;
  let leaf: Buffer;
  try {
    if (typeof r !== 'object' || r === null || typeof r.log !== 'object' || r.log === null || typeof r.log.leaf !== 'string') {
      throw new Error('the receipt has no log.leaf (the base64 of the logged entry)');
    }
    leaf = b64(r.log.leaf);
    const parsed = JSON.parse(leaf.toString('utf8')) as LogEntry | null;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the leaf is not a log entry (a JSON object)');
    // The leaf must be exactly the canonical form of what it says, so no two byte strings stand for one entry.
    if (!canonicalBytes(parsed).equals(leaf)) throw new Error('the leaf is not in canonical (RFC 8785) form');
    entry = parsed;
    add('leaf', true);
  } catch (e) {
    add('leaf', false, (e as Error).message);
    return { ok: false, entry: null, checks };
  }

  const e = entry;
  add(
    'receipt matches leaf',
    safe(
      () =>
        e.id === r.id &&
        (e.kind === 'revocation' || r.document === undefined || canonicalBytes(r.document).equals(canonicalBytes(e.document))) &&
        (e.kind === 'revocation' || r.signature === undefined || r.signature === e.signature) &&
        (r.countersignature === undefined || canonicalBytes(r.countersignature).equals(canonicalBytes(e.countersignature))),
    ),
  );

  if (entry.kind === 'license') {
    if (entry.document) {
      const d = entry.document;
      add('document names the entry subject and provider', typeof d === 'object' && d.subject === entry.subject && d.provider === entry.provider);
      const sig = entry.signature;
      const deviceKey = entry.deviceKey ?? '';
      add('device signature', safe(() => typeof sig === 'string' && verifyDeviceSignature(d, sig, createPublicKey({ key: b64(deviceKey), format: 'der', type: 'spki' }))));
    } else {
      add('device signature', entry.delegated !== null, 'delegated license: no device signature; the provider countersignature vouches for its own agreement');
    }
  }

  const pk = keys.providers.find((k) => k.id === entry.countersignature?.keyId && k.providerId === entry.provider);
  add('provider countersignature', !!pk && safe(() => verifyCountersignature(e, b64(pk.publicKey))), pk ? undefined : `no public key ${entry.countersignature?.keyId} of provider ${entry.provider}`);

  let logKeys: NoteKey[] = [];
  try {
    logKeys = keys.log.map((k) => parseVerifierKey(k.verifierKey));
  } catch (e) {
    add('log keys', false, (e as Error).message);
  }
  let cp: { origin: string; size: number; root: Buffer } | null = null;
  try {
    cp = openCheckpoint(r.log.checkpoint, logKeys);
    add('checkpoint signature', true, `${cp.origin} size ${cp.size}`);
  } catch (e) {
    add('checkpoint signature', false, (e as Error).message);
  }
  if (cp) {
    const c = cp;
    add(
      'inclusion proof',
      safe(() => verifyInclusion({ index: r.log.index, size: c.size, leafHash: leafHash(leaf), proof: r.log.inclusionProof.map(b64), root: c.root })),
      `leaf ${r.log.index} in tree of size ${cp.size}`,
    );
    if (bundle.consistency) {
      try {
        const newer = openCheckpoint(bundle.consistency.checkpoint, logKeys);
        add('newer checkpoint signature', newer.origin === cp.origin, `${newer.origin} size ${newer.size}`);
        add(
          'consistency proof',
          verifyConsistency({ size1: c.size, size2: newer.size, root1: c.root, root2: newer.root, proof: bundle.consistency.proof.map(b64) }),
          `size ${cp.size} → ${newer.size}`,
        );
      } catch (e) {
        add('newer checkpoint signature', false, (e as Error).message);
      }
    }
  }
  return { ok: checks.every((c) => c.ok), entry, checks };
}
