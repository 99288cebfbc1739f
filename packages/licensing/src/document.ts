// License documents (SPEC §5.4): their shape, RFC 8785 canonical bytes, the device's RSA signature and the checks
// that need no database (the subject, device and provider match the caller; uses, destinations, terms, dates).
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { Type, type Static } from '@sinclair/typebox';

export const KNOWN_USECASES = ['attribution', 'retargeting', 'personalization', 'ai_training', 'distribution', 'analytics', 'support'] as const;
const USECASE_PATTERN = `^(${KNOWN_USECASES.join('|')}|custom:[a-z0-9_-]{1,40})$`;
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

export const LicenseUseSchema = Type.Object(
  {
    usecases: Type.Array(Type.String({ pattern: USECASE_PATTERN }), { minItems: 1, maxItems: 20, uniqueItems: true }),
    destinations: Type.Array(Type.Union([Type.Literal('*'), Type.String({ pattern: UUID_PATTERN })]), { minItems: 1, maxItems: 100, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const LicenseTermsSchema = Type.Object(
  { sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }), uri: Type.Optional(Type.String({ format: 'uri', maxLength: 2000 })) },
  { additionalProperties: false },
);

export const TableNameSchema = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' });
export const TagSchema = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' });

export const LicenseDocumentSchema = Type.Object(
  {
    v: Type.Literal(1),
    provider: Type.String({ pattern: UUID_PATTERN }),
    subject: Type.String({ minLength: 1, maxLength: 200 }),
    device: Type.String({ minLength: 1, maxLength: 200 }),
    tables: Type.Array(TableNameSchema, { minItems: 1, maxItems: 100, uniqueItems: true }),
    tags: Type.Array(TagSchema, { maxItems: 100, uniqueItems: true }),
    uses: Type.Array(LicenseUseSchema, { minItems: 1, maxItems: 20 }),
    terms: LicenseTermsSchema,
    expiry: Type.String({ pattern: RFC3339 }),
    issuedAt: Type.String({ pattern: RFC3339 }),
  },
  { additionalProperties: false, $id: 'LicenseDocument' },
);
export type LicenseDocument = Static<typeof LicenseDocumentSchema>;
export type LicenseUse = Static<typeof LicenseUseSchema>;

/** RFC 8785 (JCS) bytes of a JSON value: what devices and providers sign. */
export function canonicalBytes(value: unknown): Buffer {
  const s = canonicalize(value);
  if (s === undefined) throw new Error('value has no canonical JSON form');
  return Buffer.from(s, 'utf8');
}

/** How far a device's clock may run ahead of ours when it stamps `issuedAt`. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** The longest a license may run (ten years): longer terms are a typo or an attempt to dodge renewal. */
export const MAX_LICENSE_MS = 10 * 366 * 24 * 3600_000;

export class LicenseRejection extends Error {
  constructor(
    readonly reason: 'expired' | 'invalid' | 'signature' | 'table',
    message: string,
  ) {
    super(message);
    this.name = 'LicenseRejection';
  }
}

/**
 * The checks that need only the document and the caller: the subject, device and provider are the caller's, the
 * dates make sense, `custom:` use cases are well-formed (the schema checks the rest). Throws LicenseRejection.
 */
export function checkLicenseDocument(doc: LicenseDocument, caller: { providerId: string; tid: string; deviceId?: string }, now = new Date()): void {
  if (doc.v !== 1) throw new LicenseRejection('invalid', 'v must be 1');
  if (doc.provider !== caller.providerId) throw new LicenseRejection('invalid', "the document's provider is not the device's provider");
  if (doc.subject !== caller.tid) throw new LicenseRejection('invalid', "the document's subject is not the device's TID");
  if (caller.deviceId !== undefined && doc.device !== caller.deviceId) throw new LicenseRejection('invalid', "the document's device is not the calling device");
  const expiry = Date.parse(doc.expiry);
  const issued = Date.parse(doc.issuedAt);
  if (Number.isNaN(expiry) || Number.isNaN(issued)) throw new LicenseRejection('invalid', 'expiry and issuedAt must be RFC 3339 times');
  if (expiry <= now.getTime()) throw new LicenseRejection('expired', 'the license has already expired');
  if (issued > now.getTime() + MAX_CLOCK_SKEW_MS) throw new LicenseRejection('invalid', 'issuedAt is in the future');
  if (expiry <= issued) throw new LicenseRejection('invalid', 'expiry must be after issuedAt');
  if (expiry - now.getTime() > MAX_LICENSE_MS) throw new LicenseRejection('invalid', 'a license may run at most ten years');
  for (const use of doc.uses) {
    if (use.destinations.includes('*') && use.destinations.length > 1) throw new LicenseRejection('invalid', 'destinations is either ["*"] or consumer ids');
  }
}

export function rsaPublicKey(pem: string | Buffer | KeyObject): KeyObject {
  return typeof pem === 'object' && 'asymmetricKeyType' in pem ? pem : createPublicKey(pem);
}

/** Verifies the device's base64url RSASSA-PKCS1-v1_5 SHA-256 signature over the document's canonical JSON. */
export function verifyDeviceSignature(doc: unknown, signature: string, publicKey: string | Buffer | KeyObject): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(signature)) return false;
  try {
    const key = rsaPublicKey(publicKey);
    if (key.asymmetricKeyType !== 'rsa') return false;
    return createVerify('RSA-SHA256').update(canonicalBytes(doc)).verify(key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}
