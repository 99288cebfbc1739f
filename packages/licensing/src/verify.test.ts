// Offline verification end to end without a database: a device-signed document, the provider countersignature, the
// log's checkpoint and proofs, built with the package's own pieces; then a flipped bit anywhere must fail verification.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, checkLicenseDocument, verifyDeviceSignature, type LicenseDocument, type LicenseRejection } from './document.js';
import { countersign, entryLeaf, type LicenseEntry } from './entries.js';
import { MemoryTree } from './merkle.js';
import { checkpointText, openNote, signNote, verifierKey } from './note.js';
import { verifyLicenseBundle, type LicenseBundle, type PublishedKeys } from './verify.js';

const raw = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url');

function fixture() {
  const device = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const providerKey = generateKeyPairSync('ed25519');
  const logKey = generateKeyPairSync('ed25519');
  const providerId = randomUUID();
  const document: LicenseDocument = {
    v: 1,
    provider: providerId,
    subject: 'tid-1',
    device: 'device-1',
    tables: ['events'],
    tags: ['purchase_history'],
    uses: [{ usecases: ['analytics'], destinations: ['*'] }],
    terms: { sha256: 'b'.repeat(64) },
    expiry: new Date(Date.now() + 86400_000).toISOString(),
    issuedAt: new Date().toISOString(),
  };
  const signature = sign('sha256', canonicalBytes(document), device.privateKey).toString('base64url');
  const entry = countersign<LicenseEntry>(
    {
      v: 1,
      kind: 'license',
      id: randomUUID(),
      provider: providerId,
      subject: 'tid-1',
      document,
      signature,
      deviceKey: device.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      delegated: null,
      supersedes: [],
      loggedAt: new Date().toISOString(),
    },
    { keyId: 'pk-1', privateKey: providerKey.privateKey },
  );
  const tree = new MemoryTree([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
  tree.append(entryLeaf(entry));
  const index = tree.size - 1;
  tree.append(Buffer.from('d'));
  const signer = { name: 'test.example/log', publicKey: raw(logKey.publicKey), privateKey: logKey.privateKey };
  const checkpoint = signNote(checkpointText({ origin: signer.name, size: tree.size, root: tree.root() }), signer);
  const size1 = tree.size;
  for (const x of ['e', 'f', 'g']) tree.append(Buffer.from(x));
  const newer = signNote(checkpointText({ origin: signer.name, size: tree.size, root: tree.root() }), signer);
  const keys: PublishedKeys = {
    log: [{ verifierKey: verifierKey(signer.name, signer.publicKey) }],
    providers: [{ id: 'pk-1', providerId, publicKey: raw(providerKey.publicKey).toString('base64') }],
  };
  const bundle: LicenseBundle = {
    license: {
      id: entry.id,
      document,
      signature,
      countersignature: entry.countersignature,
      log: { index, checkpoint, inclusionProof: tree.inclusionProof(index, size1).map((h) => h.toString('base64')), leaf: entryLeaf(entry).toString('base64') },
    },
    keys,
    consistency: { checkpoint: newer, proof: tree.consistencyProof(size1).map((h) => h.toString('base64')) },
  };
  return { bundle, device, document, signature, providerId };
}

const flipBase64 = (s: string, bit: number) => {
  const b = Buffer.from(s, 'base64');
  b[(bit >> 3) % b.length] = b[(bit >> 3) % b.length]! ^ (1 << (bit & 7));
  return b.toString('base64');
};
const flipChar = (s: string, i: number) => s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ 0x01) + s.slice(i + 1);

describe('offline license verification', () => {
  it('verifies a good bundle: device signature, countersignature, checkpoint, inclusion and consistency', () => {
    const { bundle } = fixture();
    const r = verifyLicenseBundle(bundle);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining(['device signature', 'provider countersignature', 'checkpoint signature', 'inclusion proof', 'newer checkpoint signature', 'consistency proof']),
    );
    expect(r.ok).toBe(true);
  });

  it('fails when any bit of the leaf, a proof hash, or either checkpoint changes', () => {
    const { bundle } = fixture();
    const lic = bundle.license;
    const leafBits = Buffer.from(lic.log.leaf, 'base64').length * 8;
    // One bit per byte of the leaf (rotating which bit), so every byte position is covered.
    for (let bit = 0; bit < leafBits; bit += 9) {
      expect(verifyLicenseBundle({ ...bundle, license: { ...lic, log: { ...lic.log, leaf: flipBase64(lic.log.leaf, bit) } } }).ok, `leaf bit ${bit}`).toBe(false);
    }
    for (let p = 0; p < lic.log.inclusionProof.length; p++) {
      for (let bit = 0; bit < 256; bit += 7) {
        const proof = lic.log.inclusionProof.map((h, i) => (i === p ? flipBase64(h, bit) : h));
        expect(verifyLicenseBundle({ ...bundle, license: { ...lic, log: { ...lic.log, inclusionProof: proof } } }).ok).toBe(false);
      }
    }
    for (let p = 0; p < bundle.consistency!.proof.length; p++) {
      const proof = bundle.consistency!.proof.map((h, i) => (i === p ? flipBase64(h, 13 * p) : h));
      expect(verifyLicenseBundle({ ...bundle, consistency: { ...bundle.consistency!, proof } }).ok).toBe(false);
    }
    for (let i = 0; i < lic.log.checkpoint.length - 1; i++) {
      if (lic.log.checkpoint[i] === '\n') continue;
      expect(verifyLicenseBundle({ ...bundle, license: { ...lic, log: { ...lic.log, checkpoint: flipChar(lic.log.checkpoint, i) } } }).ok, `checkpoint char ${i}`).toBe(false);
      expect(verifyLicenseBundle({ ...bundle, consistency: { ...bundle.consistency!, checkpoint: flipChar(bundle.consistency!.checkpoint, i) } }).ok).toBe(false);
    }
    expect(verifyLicenseBundle({ ...bundle, license: { ...lic, log: { ...lic.log, index: lic.log.index - 1 } } }).ok).toBe(false);
    // Thousands of verifications: ~1.5 s on an idle core, past vitest's 5 s default on a loaded shared machine.
  }, 30_000);

  it('fails with the wrong keys, and with none', () => {
    const { bundle } = fixture();
    const other = fixture();
    expect(verifyLicenseBundle(bundle, other.bundle.keys).ok).toBe(false);
    expect(verifyLicenseBundle({ license: bundle.license }).ok).toBe(false);
  });
});

describe('license documents', () => {
  it('device signatures cover the canonical form: key order does not matter, content does', () => {
    const { document, signature, device } = fixture();
    const reordered = Object.fromEntries(Object.entries(document).reverse());
    expect(verifyDeviceSignature(reordered, signature, device.publicKey)).toBe(true);
    expect(verifyDeviceSignature({ ...document, tables: ['events', 'more'] }, signature, device.publicKey)).toBe(false);
    expect(verifyDeviceSignature(document, `${signature.slice(0, -2)}AA`, device.publicKey)).toBe(false);
    expect(verifyDeviceSignature(document, signature, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).toBe(false);
  });

  it('checks subject, device, provider and dates against the caller', () => {
    const { document, providerId } = fixture();
    const caller = { providerId, tid: 'tid-1', deviceId: 'device-1' };
    expect(() => checkLicenseDocument(document, caller)).not.toThrow();
    const reason = (d: LicenseDocument, c = caller) => {
      try {
        checkLicenseDocument(d, c);
        return 'accepted';
      } catch (e) {
        return (e as LicenseRejection).reason;
      }
    };
    expect(reason(document, { ...caller, tid: 'tid-2' })).toBe('invalid');
    expect(reason(document, { ...caller, deviceId: 'device-2' })).toBe('invalid');
    expect(reason(document, { ...caller, providerId: randomUUID() })).toBe('invalid');
    expect(reason({ ...document, expiry: new Date(Date.now() - 1000).toISOString() })).toBe('expired');
    expect(reason({ ...document, issuedAt: new Date(Date.now() + 3600_000).toISOString() })).toBe('invalid');
    expect(reason({ ...document, expiry: new Date(Date.now() + 20 * 366 * 86400_000).toISOString() })).toBe('invalid');
    expect(reason({ ...document, uses: [{ usecases: ['analytics'], destinations: ['*', randomUUID()] }] })).toBe('invalid');
  });

  it('signed notes: a note verifies only with its own key and name', () => {
    const k = generateKeyPairSync('ed25519');
    const signer = { name: 'a.example/log', publicKey: raw(k.publicKey), privateKey: k.privateKey };
    const note = signNote('a.example/log\n5\nAAAA\n', signer);
    expect(openNote(note, [signer]).text).toBe('a.example/log\n5\nAAAA\n');
    expect(() => openNote(note, [{ ...signer, name: 'b.example/log' }])).toThrow();
    expect(() => openNote(note.replace('\n5\n', '\n6\n'), [signer])).toThrow();
  });
});
