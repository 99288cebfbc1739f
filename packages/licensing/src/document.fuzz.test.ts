// Property-based fuzzing of license documents, signatures and receipts (fast-check): a device signature verifies for
// the document in any key order and for nothing else — no changed field, no other signature, no garbage — and
// verifying never throws; the document checks refuse only with LicenseRejection; the offline verifier
// (`atoll verify-license`) answers "not verified" to any receipt, however malformed, instead of crashing.
// Bounded; the seed is fixed and printed (ATOLL_FUZZ_SEED=<n> to replay another).
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { LicenseRejection, canonicalBytes, checkLicenseDocument, verifyDeviceSignature, type LicenseDocument } from './document.js';
import { verifyLicenseBundle, type LicenseBundle } from './verify.js';

const seed = Number(process.env.ATOLL_FUZZ_SEED ?? 20261130);
const budget = { seed, numRuns: 200, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false } as const;
let device: { privateKey: KeyObject; publicKey: KeyObject };
let other: { privateKey: KeyObject; publicKey: KeyObject };

beforeAll(() => {
  process.stdout.write(`license fuzz seed ${seed} (replay: ATOLL_FUZZ_SEED=${seed})\n`);
  device = generateKeyPairSync('rsa', { modulusLength: 2048 });
  other = generateKeyPairSync('rsa', { modulusLength: 2048 });
});

const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
const time = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const documentArb: fc.Arbitrary<LicenseDocument> = fc.record({
  v: fc.constant(1 as const),
  provider: fc.uuid(),
  subject: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
  device: fc.uuid(),
  tables: fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
  tags: fc.uniqueArray(name, { maxLength: 4 }),
  uses: fc.array(
    fc.record({
      usecases: fc.uniqueArray(fc.oneof(fc.constantFrom('analytics', 'support', 'retargeting'), name.map((n) => `custom:${n}`)), { minLength: 1, maxLength: 3 }),
      destinations: fc.oneof(fc.constant(['*']), fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 3 })).map((d): string[] => [...d]),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  terms: fc.record({ sha256: fc.stringMatching(/^[0-9a-f]{64}$/) }),
  expiry: time,
  issuedAt: time,
});
const signDoc = (doc: unknown, key: KeyObject) => sign('sha256', canonicalBytes(doc), key).toString('base64url');

/** The same object with its keys (at every level) in another order. */
function shuffled(value: unknown, flip: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffled(v, flip));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, shuffled(v, flip)] as const);
    return Object.fromEntries(flip ? entries.reverse() : entries.sort(([a], [b]) => (a < b ? 1 : -1)));
  }
  return value;
}

describe('license documents and signatures (fuzzed)', () => {
  it('a device signature verifies in any key order, and never after a change, under another key or as garbage', () => {
    fc.assert(
      fc.property(documentArb, fc.boolean(), fc.string({ maxLength: 400, unit: 'binary' }), fc.constantFrom('subject', 'expiry', 'tables', 'uses', 'provider'), (doc, flip, garbage, field) => {
        const signature = signDoc(doc, device.privateKey);
        expect(verifyDeviceSignature(shuffled(doc, flip), signature, device.publicKey)).toBe(true);
        const changed = { ...doc, [field]: field === 'tables' ? [...doc.tables, 'zzz_extra'] : field === 'uses' ? [] : `${JSON.stringify(doc[field as keyof LicenseDocument])}x` };
        expect(verifyDeviceSignature(changed, signature, device.publicKey)).toBe(false);
        expect(verifyDeviceSignature(doc, signDoc(doc, other.privateKey), device.publicKey)).toBe(false);
        expect(verifyDeviceSignature(doc, garbage, device.publicKey)).toBe(false);
        expect(verifyDeviceSignature(doc, signature.slice(0, -2), device.publicKey)).toBe(false);
        expect(verifyDeviceSignature(doc, signature, other.publicKey)).toBe(false);
        expect(verifyDeviceSignature(doc, signature, garbage)).toBe(false);
      }),
      budget,
    );
  });

  it('document checks accept or refuse with a LicenseRejection, whatever the dates and callers', () => {
    fc.assert(
      fc.property(documentArb, fc.oneof(fc.constant(null), fc.uuid()), fc.date({ noInvalidDate: true, min: new Date('2019-01-01'), max: new Date('2041-01-01') }), (doc, otherProvider, now) => {
        try {
          checkLicenseDocument(doc, { providerId: otherProvider ?? doc.provider, tid: doc.subject, deviceId: doc.device }, now);
          expect(Date.parse(doc.expiry)).toBeGreaterThan(now.getTime());
          expect(otherProvider === null || otherProvider === doc.provider).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(LicenseRejection);
        }
      }),
      budget,
    );
  });

  it('the offline verifier says "not verified" to any malformed receipt and never throws', () => {
    const leaf = fc.oneof(fc.jsonValue(), documentArb.map((d) => ({ kind: 'license', id: randomUUID(), document: d, subject: d.subject, provider: d.provider })));
    const receipt = fc.record(
      {
        id: fc.oneof(fc.uuid(), fc.jsonValue()),
        document: fc.jsonValue(),
        signature: fc.jsonValue(),
        countersignature: fc.jsonValue(),
        log: fc.oneof(
          fc.jsonValue(),
          fc.record({
            index: fc.oneof(fc.integer(), fc.jsonValue()),
            checkpoint: fc.oneof(fc.string(), fc.jsonValue()),
            inclusionProof: fc.oneof(fc.array(fc.base64String()), fc.jsonValue()),
            leaf: fc.oneof(leaf.map((l) => Buffer.from(canonicalize(l) ?? 'null').toString('base64')), fc.jsonValue()),
          }),
        ),
      },
      { requiredKeys: [] },
    );
    const bundle = fc.record(
      {
        license: receipt,
        keys: fc.oneof(fc.constant({ log: [], providers: [] }), fc.record({ log: fc.array(fc.record({ verifierKey: fc.string() })), providers: fc.array(fc.record({ id: fc.string(), providerId: fc.oneof(fc.uuid(), fc.constant(null)), publicKey: fc.base64String() })) })),
        consistency: fc.record({ checkpoint: fc.oneof(fc.string(), fc.jsonValue()), proof: fc.oneof(fc.array(fc.base64String()), fc.jsonValue()) }),
      },
      { requiredKeys: ['license', 'keys'] },
    );
    fc.assert(
      fc.property(bundle, (b) => {
        const result = verifyLicenseBundle(b as unknown as LicenseBundle);
        expect(result.ok).toBe(false);
        expect(result.checks.some((c) => !c.ok)).toBe(true);
      }),
      { ...budget, numRuns: 500 },
    );
  });
});
