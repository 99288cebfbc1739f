// The lake as the workers see it: Iceberg tables (Postgres pointers, S3 files) and a local cache of immutable
// data files, so DuckDB reads local Parquet and never needs an S3 extension (decision 2).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from '@atoll/db';
import { PgCatalogStore, loadTable, planFiles, type DataFile, type LoadedTable, type TableIdentifier } from '@atoll/iceberg';
import type { ObjectStore} from '@atoll/storage';
import { S3FileIO, parseS3Uri } from '@atoll/storage';

const DOWNLOAD_CONCURRENCY = 16;

export class Lake {
  readonly io: S3FileIO;
  readonly catalog: PgCatalogStore;

  constructor(
    readonly store: ObjectStore,
    pool: Pool,
    private readonly cacheDir: string,
  ) {
    this.io = new S3FileIO(store);
    this.catalog = new PgCatalogStore(pool);
  }

  /** The table, or null when it has never been written. */
  async tryLoad(id: TableIdentifier): Promise<LoadedTable | null> {
    if (!(await this.catalog.load(id))) return null;
    return loadTable({ io: this.io, catalog: this.catalog, id });
  }

  async liveFiles(table: LoadedTable): Promise<DataFile[]> {
    return planFiles({ io: this.io, metadata: table.metadata });
  }

  /**
   * Downloads data files once into the local cache (they are immutable) and returns their local paths, in order.
   * Several at a time: a table of many small files is dominated by request latency, not bandwidth.
   */
  async localCopies(files: readonly DataFile[]): Promise<string[]> {
    await mkdir(this.cacheDir, { recursive: true });
    const out = new Array<string>(files.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        const f = files[i]!;
        const local = join(this.cacheDir, `${createHash('sha256').update(f.filePath).digest('hex').slice(0, 32)}.parquet`);
        if (!existsSync(local)) {
          const { bucket, key } = parseS3Uri(f.filePath);
          // Unique per call: two lanes (or two callers) fetching the same file never share a partial file.
          const tmp = `${local}.${process.pid}.${randomUUID()}.part`;
          try {
            await this.store.downloadFile(bucket, key, tmp);
            await rename(tmp, local);
          } finally {
            await rm(tmp, { force: true });
          }
        }
        out[i] = local;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, files.length) }, lane));
    return out;
  }
}
