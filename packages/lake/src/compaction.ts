// Compaction: small data files of one partition rewritten by DuckDB into fewer, larger Parquet files and swapped in
// with a `replace` snapshot (same rows), so concurrent appends survive and a concurrent delete makes us back off.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duck, literal } from '@atoll/duck';
import {
  CommitConflictError,
  InvalidInputError,
  currentSchema,
  dataFileFromParquet,
  duckdbFieldIds,
  duckdbReadParquet,
  duckdbSelectList,
  loadTable,
  newDataFileUri,
  overwriteFiles,
  planFiles,
  type DataFile,
  type TableIdentifier,
} from '@atoll/iceberg';
import { parseS3Uri } from '@atoll/storage';
import type { Lake } from './lake.js';

const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;
const DEFAULT_MIN_INPUT_FILES = 5;
// Files at least this share of the target are left alone (the reference implementation's min-file-size default).
const SMALL_FILE_RATIO = 0.75;

export interface CompactTableOptions {
  lake: Lake;
  id: TableIdentifier;
  /** Size to aim for per output file (default 128 MiB). */
  targetFileSizeBytes?: number;
  /** A partition is compacted only when it has at least this many small files (default 5). */
  minInputFiles?: number;
  workDir: string;
  memoryLimit: string;
  threads?: number;
}

export interface CompactTableResult {
  rewrittenFiles: number;
  addedFiles: number;
  /** The replace snapshot, or null when no partition had enough small files. */
  snapshotId: bigint | null;
}

function partitionKey(file: DataFile): string {
  return `${file.specId ?? 'default'}:${JSON.stringify(file.partition, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
}

/** Splits files (smallest first) into bins of at most `target` bytes; a bin needs two files to be worth rewriting. */
function binPack(files: DataFile[], target: number): DataFile[][] {
  const bins: DataFile[][] = [];
  let bin: DataFile[] = [];
  let size = 0;
  for (const f of [...files].sort((a, b) => a.fileSizeInBytes - b.fileSizeInBytes)) {
    if (bin.length > 0 && size + f.fileSizeInBytes > target) {
      bins.push(bin);
      bin = [];
      size = 0;
    }
    bin.push(f);
    size += f.fileSizeInBytes;
  }
  if (bin.length > 0) bins.push(bin);
  return bins.filter((b) => b.length >= 2);
}

/**
 * Rewrites the small files of each partition that has at least `minInputFiles` of them. Columns are read by field id
 * in the current schema (renamed, widened and added columns come out right) and written with field ids. One commit
 * for the whole table; if another writer removed an input file meanwhile, the commit fails with CommitConflictError
 * and the new files are deleted (nothing changes). Files uploaded before a crash are orphans, never referenced.
 */
export async function compactTable(opts: CompactTableOptions): Promise<CompactTableResult> {
  const target = opts.targetFileSizeBytes ?? DEFAULT_TARGET_FILE_SIZE;
  const minInput = opts.minInputFiles ?? DEFAULT_MIN_INPUT_FILES;
  if (!Number.isSafeInteger(target) || target < 1) throw new InvalidInputError('targetFileSizeBytes must be a positive integer');
  if (!Number.isInteger(minInput) || minInput < 2) throw new InvalidInputError('minInputFiles must be an integer ≥ 2');
  const { io, catalog } = opts.lake;
  const table = await loadTable({ io, catalog, id: opts.id });
  const files = await planFiles({ io, metadata: table.metadata });
  const groups = new Map<string, DataFile[]>();
  for (const f of files) {
    if (f.fileFormat !== 'PARQUET' || f.fileSizeInBytes >= target * SMALL_FILE_RATIO) continue;
    const key = partitionKey(f);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const bins = [...groups.values()].filter((g) => g.length >= minInput).flatMap((g) => binPack(g, target));
  if (bins.length === 0) return { rewrittenFiles: 0, addedFiles: 0, snapshotId: null };

  const schema = currentSchema(table.metadata);
  const runDir = join(opts.workDir, `compact-${randomUUID()}`);
  await mkdir(runDir, { recursive: true });
  const uploaded: DataFile[] = [];
  const duck = await Duck.open({ memoryLimit: opts.memoryLimit, threads: opts.threads ?? 1, tempDirectory: join(runDir, 'tmp') });
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    for (const [i, bin] of bins.entries()) {
      const locals = await opts.lake.localCopies(bin);
      const output = join(runDir, `${i}.parquet`);
      await duck.run(
        `COPY (SELECT ${duckdbSelectList(schema)} FROM ${duckdbReadParquet(locals, schema)}) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`,
      );
      const first = bin[0]!;
      const uri = newDataFileUri(table.metadata);
      const dataFile = await dataFileFromParquet(output, {
        uri,
        schema,
        partition: first.partition,
        ...(first.specId !== undefined ? { specId: first.specId } : {}),
        connection: duck.connection,
      });
      const { bucket, key } = parseS3Uri(uri);
      await opts.lake.store.putFile(bucket, key, output, { contentType: 'application/vnd.apache.parquet' });
      uploaded.push(dataFile);
      await rm(output, { force: true });
    }
  } catch (err) {
    await Promise.all(uploaded.map((f) => io.delete(f.filePath).catch(() => undefined)));
    throw err;
  } finally {
    duck.close();
  }
  try {
    const inputs = bins.flat();
    const commit = await overwriteFiles({ io, catalog, id: opts.id, deleteFiles: inputs.map((f) => f.filePath), addFiles: uploaded, replace: true });
    return { rewrittenFiles: inputs.length, addedFiles: uploaded.length, snapshotId: commit.snapshotId };
  } catch (err) {
    // Definitely not committed: drop our files. Any other failure may hide a landed commit, so they stay.
    if (err instanceof CommitConflictError || err instanceof InvalidInputError) await Promise.all(uploaded.map((f) => io.delete(f.filePath).catch(() => undefined)));
    throw err;
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}
