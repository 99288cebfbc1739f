// The transparency log on Postgres: appends serialised by an advisory lock inside the caller's transaction, every
// complete subtree hash stored (log_nodes) so roots and proofs cost O(log n) lookups, one signed checkpoint per size.
import type { Queryable } from './live.js';
import type { SigningKeyStore } from './keys.js';
import { EMPTY_ROOT, consistencyRanges, inclusionRanges, leafHash, nodesForAppend, rangeHash, rangeNodes, siblingsForAppend, type NodeId } from './merkle.js';
import { checkpointText, signNote } from './note.js';

/** Advisory lock key of log appends ('tlog'). */
const APPEND_LOCK = 0x746c6f67;

export interface LeafToAppend {
  leaf: Buffer;
  kind: 'license' | 'revocation';
  entryId: string;
}

export interface AppendResult {
  /** Index of each appended leaf, in order. */
  indexes: number[];
  size: number;
  root: Buffer;
  checkpoint: string;
}

const key = (level: number, index: number) => `${level}/${index}`;

export class TransparencyLog {
  constructor(private readonly opts: { db: Queryable; keys: SigningKeyStore }) {}

  get origin(): string {
    return this.opts.keys.logName;
  }

  private async fetchNodes(db: Queryable, ids: readonly NodeId[], into: Map<string, Buffer>): Promise<void> {
    const missing = ids.filter(([l, i]) => !into.has(key(l, i)));
    if (missing.length === 0) return;
    const { rows } = await db.query<{ level: number; idx: string; hash: Buffer }>(
      'SELECT level, idx, hash FROM log_nodes WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))',
      [missing.map(([l]) => l), missing.map(([, i]) => i)],
    );
    for (const r of rows) into.set(key(r.level, Number(r.idx)), r.hash);
  }

  private lookup(nodes: Map<string, Buffer>) {
    return (level: number, index: number): Buffer => {
      const h = nodes.get(key(level, index));
      if (!h) throw new Error(`log node ${level}/${index} is missing`);
      return h;
    };
  }

  /**
   * Takes the append lock for the rest of the caller's transaction (`tx` must be one client in BEGIN … COMMIT), so
   * the caller can decide what to append from a state no other append can change meanwhile. Taking it again in the
   * same transaction (as `append` does) is free.
   */
  async lock(tx: Queryable): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
  }

  /**
   * Appends leaves inside the caller's transaction (`tx` must be one client in BEGIN … COMMIT): takes the append
   * lock, stores leaves and completed subtrees, signs and stores the checkpoint of the new size.
   */
  async append(tx: Queryable, leaves: readonly LeafToAppend[]): Promise<AppendResult> {
    if (leaves.length === 0) throw new Error('nothing to append');
    await this.lock(tx);
    const { rows } = await tx.query<{ size: string }>('SELECT coalesce(max(idx) + 1, 0) AS size FROM log_leaves');
    let size = Number(rows[0]!.size);
    const nodes = new Map<string, Buffer>();
    const created: Array<{ level: number; index: number; hash: Buffer }> = [];
    const indexes: number[] = [];
    // The left siblings an append needs are always on the tree's right edge (its complete subtrees) or made earlier in
    // this batch, so one query for that edge serves the whole batch.
    if (size > 0) await this.fetchNodes(tx, rangeNodes(0, size), nodes);
    for (const l of leaves) {
      const sibIds = siblingsForAppend(size);
      const made = nodesForAppend(size, leafHash(l.leaf), sibIds.map(([lv, i]) => this.lookup(nodes)(lv, i)));
      for (const n of made) nodes.set(key(n.level, n.index), n.hash);
      created.push(...made);
      indexes.push(size);
      size += 1;
    }
    await tx.query(
      `INSERT INTO log_leaves (idx, leaf, leaf_hash, kind, entry_id)
       SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::uuid[])`,
      [indexes, leaves.map((l) => l.leaf), leaves.map((l) => leafHash(l.leaf)), leaves.map((l) => l.kind), leaves.map((l) => l.entryId)],
    );
    await tx.query('INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])', [
      created.map((n) => n.level),
      created.map((n) => n.index),
      created.map((n) => n.hash),
    ]);
    await this.fetchNodes(tx, rangeNodes(0, size), nodes);
    const root = rangeHash(0, size, this.lookup(nodes));
    const checkpoint = await this.sign(size, root);
    await tx.query('INSERT INTO log_checkpoints (size, root, note) VALUES ($1, $2, $3)', [size, root, checkpoint]);
    return { indexes, size, root, checkpoint };
  }

  private async sign(size: number, root: Buffer): Promise<string> {
    const k = await this.opts.keys.logKey();
    return signNote(checkpointText({ origin: this.origin, size, root }), { name: k.name, publicKey: k.publicKey, privateKey: k.privateKey });
  }

  async size(db: Queryable = this.opts.db): Promise<number> {
    const { rows } = await db.query<{ size: string }>('SELECT coalesce(max(size), 0) AS size FROM log_checkpoints');
    return Number(rows[0]!.size);
  }

  /** The latest signed checkpoint (an empty tree's is signed on the fly). */
  async checkpoint(): Promise<{ size: number; note: string }> {
    const { rows } = await this.opts.db.query<{ size: string; note: string }>('SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1');
    const row = rows[0];
    if (!row) return { size: 0, note: await this.sign(0, EMPTY_ROOT) };
    return { size: Number(row.size), note: row.note };
  }

  /** The signed checkpoint of exactly `size`, if the log had that size. */
  async checkpointAt(size: number): Promise<string | null> {
    const { rows } = await this.opts.db.query<{ note: string }>('SELECT note FROM log_checkpoints WHERE size = $1', [size]);
    return rows[0]?.note ?? null;
  }

  async entries(start: number, end: number): Promise<Array<{ index: number; leaf: Buffer }>> {
    const { rows } = await this.opts.db.query<{ idx: string; leaf: Buffer }>('SELECT idx, leaf FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx', [start, end]);
    return rows.map((r) => ({ index: Number(r.idx), leaf: r.leaf }));
  }

  private async rangeHashes(db: Queryable, ranges: ReadonlyArray<readonly [number, number]>): Promise<Buffer[]> {
    const nodes = new Map<string, Buffer>();
    await this.fetchNodes(db, ranges.flatMap(([a, b]) => rangeNodes(a, b)), nodes);
    return ranges.map(([a, b]) => rangeHash(a, b, this.lookup(nodes)));
  }

  async root(size: number, db: Queryable = this.opts.db): Promise<Buffer> {
    if (size === 0) return EMPTY_ROOT;
    return (await this.rangeHashes(db, [[0, size]]))[0]!;
  }

  /** PATH(index, D[0:size]); the caller checks 0 ≤ index < size ≤ current size. */
  async inclusionProof(index: number, size: number, db: Queryable = this.opts.db): Promise<Buffer[]> {
    return this.rangeHashes(db, inclusionRanges(index, size));
  }

  /** PROOF(from, D[0:to]); the caller checks 0 < from ≤ to ≤ current size. */
  async consistencyProof(from: number, to: number, db: Queryable = this.opts.db): Promise<Buffer[]> {
    return this.rangeHashes(db, consistencyRanges(from, to));
  }
}
