// RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs. Written here rather than taken from a library:
// the log needs proofs over subtree hashes stored in Postgres (log_nodes), which the few npm Merkle packages (built
// for in-memory leaf arrays, most without RFC 9162's domain separation) cannot do.
import { createHash } from 'node:crypto';

export const HASH_SIZE = 32;

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export function leafHash(leaf: Uint8Array): Buffer {
  return sha256(LEAF_PREFIX, leaf);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** The hash of an empty tree, SHA-256 of the empty string. */
export const EMPTY_ROOT = sha256();

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A half-open leaf range [start, end). */
export type LeafRange = readonly [start: number, end: number];

/** A complete aligned subtree: level ℓ, index i covers leaves [i·2^ℓ, (i+1)·2^ℓ). */
export type NodeId = readonly [level: number, index: number];

function isPerfect(start: number, end: number): NodeId | null {
  const size = end - start;
  if (size <= 0 || (size & (size - 1)) !== 0 || start % size !== 0) return null;
  return [Math.log2(size), start / size];
}

/**
 * The complete aligned subtrees whose hashes make up MTH(D[start:end]) for a range the RFC recursion produces
 * (its left edge is aligned to the largest power of two below its size), left to right.
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  const perfect = isPerfect(start, end);
  if (perfect) return [perfect];
  const k = splitPoint(end - start);
  return [...rangeNodes(start, start + k), ...rangeNodes(start + k, end)];
}

/** MTH(D[start:end]) from the hashes of complete subtrees. */
export function rangeHash(start: number, end: number, node: (level: number, index: number) => Buffer): Buffer {
  if (end - start === 0) return EMPTY_ROOT;
  const perfect = isPerfect(start, end);
  if (perfect) return node(perfect[0], perfect[1]);
  const k = splitPoint(end - start);
  return nodeHash(rangeHash(start, start + k, node), rangeHash(start + k, end, node));
}

/** The ranges whose hashes form PATH(m, D[0:n]) (RFC 9162 §2.1.3.1), in proof order. */
export function inclusionRanges(m: number, n: number): LeafRange[] {
  if (!(m >= 0 && m < n)) throw new RangeError(`leaf index ${m} is not in a tree of size ${n}`);
  const out: LeafRange[] = [];
  const walk = (m: number, start: number, end: number): void => {
    if (end - start <= 1) return;
    const k = splitPoint(end - start);
    if (m < k) {
      walk(m, start, start + k);
      out.push([start + k, end]);
    } else {
      walk(m - k, start + k, end);
      out.push([start, start + k]);
    }
  };
  walk(m, 0, n);
  return out;
}

/** The ranges whose hashes form PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1), in proof order. Empty when m = n. */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  if (!(m > 0 && m <= n)) throw new RangeError(`no consistency proof from size ${m} to ${n}`);
  const out: LeafRange[] = [];
  const sub = (m: number, start: number, end: number, b: boolean): void => {
    if (m === end - start) {
      if (!b) out.push([start, end]);
      return;
    }
    const k = splitPoint(end - start);
    if (m <= k) {
      sub(m, start, start + k, b);
      out.push([start + k, end]);
    } else {
      sub(m - k, start + k, end, false);
      out.push([start, start + k]);
    }
  };
  sub(m, 0, n, true);
  return out;
}

/** The nodes that appending leaf number `size` (0-based) completes, each needing its left sibling (RFC tree shape). */
export function siblingsForAppend(size: number): NodeId[] {
  const out: NodeId[] = [];
  for (let level = 0, i = size; i % 2 === 1; level++, i = Math.floor(i / 2)) out.push([level, i - 1]);
  return out;
}

/**
 * The complete subtrees created by appending a leaf with hash `hash` at index `size`, given its left siblings' hashes
 * (in the order of {@link siblingsForAppend}).
 */
export function nodesForAppend(size: number, hash: Buffer, siblings: readonly Buffer[]): Array<{ level: number; index: number; hash: Buffer }> {
  const out = [{ level: 0, index: size, hash }];
  let h = hash;
  let i = size;
  for (let level = 0; i % 2 === 1; level++) {
    const left = siblings[level];
    if (!left) throw new Error(`missing sibling at level ${level}`);
    h = nodeHash(left, h);
    i = Math.floor(i / 2);
    out.push({ level: level + 1, index: i, hash: h });
  }
  return out;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** RFC 9162 §2.1.3.2: does `proof` show the leaf with hash `leaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(opts: { index: number; size: number; leafHash: Uint8Array; proof: readonly Uint8Array[]; root: Uint8Array }): boolean {
  const { index, size, proof, root } = opts;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(opts.leafHash);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (`size1`, `root1`) is a prefix of (`size2`, `root2`)? */
export function verifyConsistency(opts: { size1: number; size2: number; root1: Uint8Array; root2: Uint8Array; proof: readonly Uint8Array[] }): boolean {
  const { size1, size2, root1, root2 } = opts;
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) return false;
  if (size1 === size2) return opts.proof.length === 0 && equal(root1, root2);
  if (opts.proof.length === 0) return false;
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...opts.proof] : [...opts.proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equal(fr, root1) && equal(sr, root2) && sn === 0;
}

/** An in-memory tree over leaf bytes: the reference the Postgres log is tested against, and the test vectors' home. */
export class MemoryTree {
  private readonly levels: Buffer[][] = [[]];

  constructor(leaves: Iterable<Uint8Array> = []) {
    for (const l of leaves) this.append(l);
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  append(leaf: Uint8Array): void {
    const size = this.size;
    const sibs = siblingsForAppend(size).map(([l, i]) => this.node(l, i));
    for (const n of nodesForAppend(size, leafHash(leaf), sibs)) (this.levels[n.level] ??= [])[n.index] = n.hash;
  }

  node(level: number, index: number): Buffer {
    const h = this.levels[level]?.[index];
    if (!h) throw new Error(`no complete subtree at level ${level}, index ${index}`);
    return h;
  }

  root(size = this.size): Buffer {
    return rangeHash(0, size, (l, i) => this.node(l, i));
  }

  inclusionProof(index: number, size = this.size): Buffer[] {
    return inclusionRanges(index, size).map(([a, b]) => rangeHash(a, b, (l, i) => this.node(l, i)));
  }

  consistencyProof(size1: number, size2 = this.size): Buffer[] {
    return consistencyRanges(size1, size2).map(([a, b]) => rangeHash(a, b, (l, i) => this.node(l, i)));
  }
}
