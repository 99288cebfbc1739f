// RFC 9162 hashing and proofs against the published test vectors of transparency-dev/merkle (testonly/constants.go,
// proof/verify_test.go), plus exhaustive self-consistency and bit-flip checks on small trees.
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, MemoryTree, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

const hd = (s: string) => Buffer.from(s, 'hex');
const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hd);
const roots = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hd);
// [leaf index (0-based), tree size, proof]
const inclusionVectors: Array<[number, number, string[]]> = [
  [0, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [5, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const consistencyVectors: Array<[number, number, string[]]> = [
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];

const flip = (b: Buffer, bit: number) => {
  const c = Buffer.from(b);
  c[bit >> 3] = c[bit >> 3]! ^ (1 << (bit & 7));
  return c;
};

describe('RFC 9162 Merkle tree', () => {
  const tree = new MemoryTree(leaves);

  it('computes the published root of every prefix', () => {
    expect(EMPTY_ROOT.equals(roots[0]!)).toBe(true);
    for (let n = 1; n <= leaves.length; n++) expect(tree.root(n).toString('hex')).toBe(roots[n]!.toString('hex'));
  });

  it('produces and verifies the published inclusion proofs', () => {
    for (const [index, size, hex] of inclusionVectors) {
      const proof = tree.inclusionProof(index, size);
      expect(proof.map((p) => p.toString('hex'))).toEqual(hex);
      expect(verifyInclusion({ index, size, leafHash: leafHash(leaves[index]!), proof, root: roots[size]! })).toBe(true);
    }
  });

  it('produces and verifies the published consistency proofs', () => {
    for (const [size1, size2, hex] of consistencyVectors) {
      const proof = tree.consistencyProof(size1, size2);
      expect(proof.map((p) => p.toString('hex'))).toEqual(hex);
      expect(verifyConsistency({ size1, size2, root1: roots[size1]!, root2: roots[size2]!, proof })).toBe(true);
    }
  });

  it('verifies every inclusion and consistency proof of trees up to 40 leaves, and rejects every single-bit change', () => {
    const big = new MemoryTree(Array.from({ length: 40 }, (_, i) => Buffer.from(`leaf ${i}`)));
    for (let size = 1; size <= 40; size++) {
      const root = big.root(size);
      for (let index = 0; index < size; index++) {
        const lh = leafHash(Buffer.from(`leaf ${index}`));
        const proof = big.inclusionProof(index, size);
        expect(verifyInclusion({ index, size, leafHash: lh, proof, root })).toBe(true);
        expect(verifyInclusion({ index: index + 1, size, leafHash: lh, proof, root })).toBe(false);
        expect(verifyInclusion({ index, size, leafHash: flip(lh, index % 256), proof, root })).toBe(false);
        expect(verifyInclusion({ index, size, leafHash: lh, proof, root: flip(root, 7) })).toBe(false);
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.map((h, i) => (i === p ? flip(h, (p * 31) % 256) : h));
          expect(verifyInclusion({ index, size, leafHash: lh, proof: bad, root })).toBe(false);
        }
      }
      for (let size1 = 1; size1 <= size; size1++) {
        const proof = big.consistencyProof(size1, size);
        const root1 = big.root(size1);
        expect(verifyConsistency({ size1, size2: size, root1, root2: root, proof })).toBe(true);
        if (size1 < size) {
          expect(verifyConsistency({ size1, size2: size, root1: flip(root1, 3), root2: root, proof })).toBe(false);
          expect(verifyConsistency({ size1, size2: size, root1, root2: flip(root, 200), proof })).toBe(false);
          expect(verifyConsistency({ size1, size2: size, root1, root2: root, proof: proof.slice(0, -1) })).toBe(false);
          for (let p = 0; p < proof.length; p++) {
            const bad = proof.map((h, i) => (i === p ? flip(h, 100) : h));
            expect(verifyConsistency({ size1, size2: size, root1, root2: root, proof: bad })).toBe(false);
          }
        }
      }
    }
  });
});
