// Checks the sio-go stream codec against the published secure-io/sio-go test vectors and against tampering.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NotAuthenticError, SIO_BUF_SIZE, sioOpen, sioSeal } from './sio-stream.js';

// AES-128-GCM entries of test_vectors.json in github.com/secure-io/sio-go v0.3.1 (MIT). The small buffer sizes make
// several of them span more than one fragment, which exercises sequence numbers and the final-fragment flag.
const vectors = [
  { bufSize: 16, key: '00000000000000000000000000000000', nonce: '0000000000000000', associatedData: '', plaintext: '', ciphertext: 'e0247a864e783cecb1f7996c13cd3f64' },
  { bufSize: 16, key: '10000000000000000000000000000000', nonce: '0000000000000000', associatedData: '', plaintext: '', ciphertext: '0ea5336db7013554c07aa43b369e5655' },
  { bufSize: 16, key: '10000000000000000000000000000000', nonce: '1000000000000000', associatedData: '', plaintext: '', ciphertext: 'a52763497d2e64ee49bf4c72dc6881e7' },
  { bufSize: 16, key: '10000000000000000000000000000000', nonce: '1000000000000000', associatedData: '00', plaintext: '', ciphertext: '2d9ede532b1f5f034e22375d816f76c2' },
  { bufSize: 16, key: '10000000000000000000000000000000', nonce: '1000000000000000', associatedData: '00', plaintext: '00', ciphertext: '61ed193d12a2adf6f1c41f31de4ead6c5c' },
  { bufSize: 16, key: '20000000000000000000000000000000', nonce: '1000000000000000', associatedData: '00', plaintext: '00', ciphertext: '4b6e93acd3e4602b9c1ad49da985d1f872' },
  { bufSize: 16, key: '00000000000000000000000000000000', nonce: '0000000000000000', associatedData: '0000000000000000', plaintext: '0000000000000000', ciphertext: '4661d681f92680d7a307c7a036700edde4697a1f3ba7e01b' },
  { bufSize: 16, key: '00000000000000000000000000000001', nonce: '2000000000000000', associatedData: '1000000000000000', plaintext: '00000000000000000000000000000000', ciphertext: '8501dcfa461a0860ef9933655b1e59a9e7db1ed363b6ff80f219ca986dca9ce2' },
  { bufSize: 16, key: '0a7a6d49e4ad042f1e1ffa168849d651', nonce: '4a9ba500be169ab3', associatedData: 'd40703848d887a01664c30734fa370581c5f8f6d0ea7bfdd', plaintext: '424d6d60d7e08b3b41e968fc4557b93c', ciphertext: 'aa4b4ca42d587b98d0d5f009c0efbc4fcaaefdc1c79a3cfe07801ed8c708d259' },
  { bufSize: 16, key: '10000000000000000000000000000000', nonce: '0000000000000002', associatedData: '', plaintext: '0000000000000000000000000000000000', ciphertext: '691deb7b9ccbee91f48d12c7ad5fe3cd4e1e5e7d394f06b91228ec9a5dd2456ac7de9502a0b4010fb1ee1db94e940458fb' },
  { bufSize: 16, key: '20000000000000000000000000000000', nonce: '2000000000000000', associatedData: '00', plaintext: '0000000000000000000000000000000000000000000000000000000000000000', ciphertext: 'f58d8fef7ac7782a4361a79c07f5e6c4672d8a45e6cb9ef67cb7177897358deb8d338d313d44f78e0b68a3723d7ca0fe5f62aa8af0a72e508f5d5f8491ecedb2' },
  { bufSize: 16, key: '000102030405060708090a0b0c0d0e0f', nonce: '0001020304050607', associatedData: '0102030405060708090a0b0c0d0e0f10', plaintext: '0000000000000000000000000000000000000000000000000000000000000000', ciphertext: 'beffe57efbdadb693b5545d58454ba746c5362c6f37b65da457d85bfe6af8972cfea267b03f14aedf25e7501e88c0d79f5440d0ac49e5c4fdaab4dfac9aec4d3' },
  { bufSize: 17, key: '67fc3ffd5353a432a6cbc982007606c8', nonce: '6958a70a975e32c6', associatedData: '', plaintext: '', ciphertext: '076243570112d32362c1d9e4ab4096ca' },
  { bufSize: 17, key: '31dd758d120fd5d30063921a21f723be', nonce: 'd3794fe387018e32', associatedData: '1d838b6e861ea7576de110e08818de82a27337a99db7b95aa95c3347971ad4cfa0ef0960d6645f5a64f88c7d', plaintext: 'd0ae0d85e93ed6be853ded2031643116a03215b4fda224d2986d7233039aa47e91b686f4', ciphertext: 'a6fe911b94e0b25a25bf6da71f28ad6a6b6920be01589e9194226f77c164606545d5cbdb76c99415b468c54517f5a8bc8dc8ac13b1b4285fe36f37f7884d5e4bfb32ecef56b4026bf02bfb1d4fce222e01ef9db9' },
];

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('sio stream', () => {
  it.each(vectors.map((v, i) => ({ i, ...v })))('matches published vector %#', (v) => {
    const opts = { key: hex(v.key), nonce: hex(v.nonce), associatedData: hex(v.associatedData), bufSize: v.bufSize };
    expect(sioSeal(hex(v.plaintext), opts).toString('hex')).toBe(v.ciphertext);
    expect(sioOpen(hex(v.ciphertext), opts).toString('hex')).toBe(v.plaintext);
  });

  it('round-trips AES-256-GCM across fragment boundaries', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(8);
    for (const size of [0, 1, SIO_BUF_SIZE - 1, SIO_BUF_SIZE, SIO_BUF_SIZE + 1, 2 * SIO_BUF_SIZE, 3 * SIO_BUF_SIZE + 7]) {
      const plaintext = randomBytes(size);
      const sealed = sioSeal(plaintext, { key, nonce });
      expect(sealed.length).toBe(size + 16 * Math.max(1, Math.ceil(size / SIO_BUF_SIZE)));
      expect(sioOpen(sealed, { key, nonce }).equals(plaintext)).toBe(true);
    }
  });

  it('rejects every single flipped byte', () => {
    const v = vectors[vectors.length - 1]!;
    const opts = { key: hex(v.key), nonce: hex(v.nonce), associatedData: hex(v.associatedData), bufSize: v.bufSize };
    const sealed = hex(v.ciphertext);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i] = tampered[i]! ^ 0x01;
      expect(() => sioOpen(tampered, opts)).toThrow(NotAuthenticError);
    }
  });

  it('rejects truncation at a fragment boundary, reordered fragments and trailing bytes', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(8);
    const opts = { key, nonce, bufSize: 16 };
    const sealed = sioSeal(randomBytes(40), opts); // fragments of 32, 32 and 24 bytes
    expect(sealed.length).toBe(88);
    // Dropping the last fragment leaves a complete but non-final fragment at the end.
    expect(() => sioOpen(sealed.subarray(0, 64), opts)).toThrow(NotAuthenticError);
    const swapped = Buffer.concat([sealed.subarray(32, 64), sealed.subarray(0, 32), sealed.subarray(64)]);
    expect(() => sioOpen(swapped, opts)).toThrow(NotAuthenticError);
    expect(() => sioOpen(Buffer.concat([sealed, Buffer.of(0)]), opts)).toThrow(NotAuthenticError);
    expect(() => sioOpen(sealed.subarray(0, 10), opts)).toThrow(NotAuthenticError);
  });

  it('rejects a wrong key, nonce or associated data', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(8);
    const sealed = sioSeal(Buffer.from('hello'), { key, nonce, associatedData: Buffer.from('ad') });
    expect(() => sioOpen(sealed, { key: randomBytes(32), nonce, associatedData: Buffer.from('ad') })).toThrow(NotAuthenticError);
    expect(() => sioOpen(sealed, { key, nonce: randomBytes(8), associatedData: Buffer.from('ad') })).toThrow(NotAuthenticError);
    expect(() => sioOpen(sealed, { key, nonce })).toThrow(NotAuthenticError);
  });
});
