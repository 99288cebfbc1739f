// Snapshot summaries (spec: Snapshot Summary): what a commit added and removed, and the table's running totals.
import type { PrimitiveValue } from './conversions.js';
import type { ObjectIO } from './io.js';
import type { TableMetadata } from './metadata.js';
import { currentSnapshot } from './metadata.js';
import { planFiles } from './scan.js';

/** Summary key holding the caller's idempotency key. */
export const COMMIT_ID_SUMMARY_KEY = 'atoll.commit-id';

export interface Totals {
  records: number;
  files: number;
  size: number;
}

export async function baseTotals(io: ObjectIO, metadata: TableMetadata): Promise<Totals> {
  const snap = currentSnapshot(metadata);
  if (!snap) return { records: 0, files: 0, size: 0 };
  const s = snap.summary;
  const [r, f, z] = [s['total-records'], s['total-data-files'], s['total-files-size']].map((v) => (v === undefined ? NaN : Number(v)));
  if (Number.isSafeInteger(r) && Number.isSafeInteger(f) && Number.isSafeInteger(z)) return { records: r!, files: f!, size: z! };
  // A parent written without totals: count them once from its manifests.
  const files = await planFiles({ io, metadata });
  return { records: files.reduce((n, d) => n + d.recordCount, 0), files: files.length, size: files.reduce((n, d) => n + d.fileSizeInBytes, 0) };
}

export function partitionKey(specId: number, tuple: Array<PrimitiveValue | null>): string {
  return `${specId}:${tuple.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v))).join(',')}`;
}

export function buildSummary(opts: {
  base: Totals;
  added: Array<{ recordCount: number; fileSizeInBytes: number }>;
  removed: Array<{ recordCount: number; fileSizeInBytes: number }>;
  changedPartitions: number;
  manifestsCreated: number;
  manifestsKept: number;
  manifestsReplaced: number;
  commitId?: string;
}): Record<string, string> {
  const sum = (xs: Array<{ recordCount: number; fileSizeInBytes: number }>, k: 'recordCount' | 'fileSizeInBytes'): number => xs.reduce((n, x) => n + x[k], 0);
  const addedRecords = sum(opts.added, 'recordCount');
  const addedSize = sum(opts.added, 'fileSizeInBytes');
  const removedRecords = sum(opts.removed, 'recordCount');
  const removedSize = sum(opts.removed, 'fileSizeInBytes');
  const summary: Record<string, string> = {};
  if (opts.added.length > 0) {
    summary['added-data-files'] = String(opts.added.length);
    summary['added-records'] = String(addedRecords);
    summary['added-files-size'] = String(addedSize);
  }
  if (opts.removed.length > 0) {
    summary['deleted-data-files'] = String(opts.removed.length);
    summary['deleted-records'] = String(removedRecords);
    summary['removed-files-size'] = String(removedSize);
  }
  summary['changed-partition-count'] = String(opts.changedPartitions);
  summary['total-records'] = String(opts.base.records + addedRecords - removedRecords);
  summary['total-data-files'] = String(opts.base.files + opts.added.length - opts.removed.length);
  summary['total-files-size'] = String(opts.base.size + addedSize - removedSize);
  summary['total-delete-files'] = '0';
  summary['total-position-deletes'] = '0';
  summary['total-equality-deletes'] = '0';
  summary['manifests-created'] = String(opts.manifestsCreated);
  summary['manifests-kept'] = String(opts.manifestsKept);
  summary['manifests-replaced'] = String(opts.manifestsReplaced);
  summary['engine-name'] = 'atoll';
  if (opts.commitId !== undefined) summary[COMMIT_ID_SUMMARY_KEY] = opts.commitId;
  return summary;
}
