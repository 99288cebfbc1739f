import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KekError, KeyEncryptionKeys, keysFromConfig, legacyKey } from './envelope.js';
import { createCipheriv, randomBytes } from 'node:crypto';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const seed = Number(process.env.FC_SEED ?? 20261130);

/** What older versions wrote: AES-256-GCM iv ‖ tag ‖ ciphertext under one HKDF-derived key, the context as AAD. */
function legacySeal(secret: string, label: string, plain: Buffer, context: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', legacyKey(secret, label).key, iv);
  c.setAAD(Buffer.from(context));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

describe('key-encryption keys (envelopes)', () => {
  it('opens what it sealed, for any secret and context, and only with the same context', () => {
    const keks = new KeyEncryptionKeys({ current: A });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40 }), (bytes, context, other) => {
        const plain = Buffer.from(bytes);
        const sealed = keks.seal(plain, context);
        expect(keks.open(sealed, context).equals(plain)).toBe(true);
        expect(KeyEncryptionKeys.kekIdOf(sealed)).toBe(keks.currentId);
        if (other !== context) expect(() => keks.open(sealed, other)).toThrow();
      }),
      { seed, numRuns: 200 },
    );
  });

  it('refuses every single-byte change of an envelope', () => {
    const keks = new KeyEncryptionKeys({ current: A });
    const sealed = keks.seal(Buffer.from('private key bytes'), 'key 1');
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const tampered = Buffer.from(sealed);
        tampered[at]! ^= xor;
        expect(() => keks.open(tampered, 'key 1')).toThrow();
      }),
      { seed, numRuns: 300 },
    );
  });

  it('rotates: the new KEK re-wraps only the data key, the old one keeps opening until removed, an unknown one is named', () => {
    const old = new KeyEncryptionKeys({ current: A });
    const sealed = old.seal(Buffer.from('secret'), 'key 1');
    const rotated = new KeyEncryptionKeys({ current: B, previous: [A] });
    expect(rotated.open(sealed, 'key 1').toString()).toBe('secret');
    const rewrapped = rotated.rewrap(sealed, 'key 1');
    expect(KeyEncryptionKeys.kekIdOf(rewrapped)).toBe(rotated.currentId);
    // The encrypted secret itself is unchanged; only the header (KEK id and wrapped data key) moved.
    expect(rewrapped.subarray(4 + 8 + 60).equals(sealed.subarray(4 + 8 + 60))).toBe(true);
    expect(rotated.rewrap(rewrapped, 'key 1')).toBe(rewrapped);
    const onlyNew = new KeyEncryptionKeys({ current: B });
    expect(onlyNew.open(rewrapped, 'key 1').toString()).toBe('secret');
    expect(() => onlyNew.open(sealed, 'key 1')).toThrow(KekError);
    expect(() => onlyNew.open(sealed, 'key 1')).toThrow(new RegExp(`key-encryption key ${old.currentId}, which is neither`));
    expect(() => new KeyEncryptionKeys({ current: C }).open(rewrapped, 'key 1')).toThrow(KekError);
  });

  it('opens and re-wraps values sealed in the single-key format of older versions', () => {
    const tidKey = 't'.repeat(43);
    // The older format bound each value to the bare key id, not to the envelope's context.
    const legacy = { key: legacyKey(tidKey, 'atoll token signing keys v1'), aad: 'k1' };
    const old = legacySeal(tidKey, 'atoll token signing keys v1', Buffer.from('pkcs8'), 'k1');
    const keks = keysFromConfig({ ATOLL_KEK: A, ATOLL_KEK_PREVIOUS: `${B},${C}` });
    expect(KeyEncryptionKeys.kekIdOf(old)).toBeNull();
    expect(keks.open(old, 'token signing key k1', legacy).toString()).toBe('pkcs8');
    expect(() => keks.open(old, 'token signing key k1')).toThrow(/no legacy key/);
    const moved = keks.rewrap(old, 'token signing key k1', legacy);
    expect(keks.open(moved, 'token signing key k1').toString()).toBe('pkcs8');
    expect(() => keks.open(old, 'token signing key k1', { key: legacyKey('x'.repeat(43), 'atoll token signing keys v1'), aad: 'k1' })).toThrow(KekError);
    expect(() => keks.open(old, 'token signing key k1', { ...legacy, aad: 'k2' })).toThrow(KekError);
  });

  it('refuses KEKs shorter than 32 characters and garbage of any shape without crashing', () => {
    expect(() => new KeyEncryptionKeys({ current: 'short' })).toThrow(KekError);
    const keks = new KeyEncryptionKeys({ current: A });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(() => keks.open(Buffer.concat([Buffer.from('AKE1'), Buffer.from(bytes)]), 'k')).toThrow();
        expect(() => keks.open(Buffer.from(bytes), 'k', { key: legacyKey(B, 'l'), aad: 'k' })).toThrow();
      }),
      { seed, numRuns: 200 },
    );
  });
});
