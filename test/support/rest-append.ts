// A bare Iceberg REST client that appends one data file the way Iceberg's own clients do, over plain HTTP: loadTable
// with vended credentials, data file + manifest written with those credentials, then per attempt a manifest list on
// the current snapshot and `POST …/tables/{t}` asserting `main` is still that snapshot. A 409 CommitFailedException
// reloads and tries again on the new head (same snapshot id and manifest, a fresh manifest list), as Iceberg's
// SnapshotProducer does. Every answer the catalog gives is recorded so a test can check none was anything else.
import { randomUUID } from 'node:crypto';
import {
  UNPARTITIONED_SPEC,
  currentSchema,
  encodeManifest,
  encodeManifestList,
  newSnapshotId,
  parseJson,
  parseTableMetadata,
  readManifestList,
  snapshotById,
  stringifyJson,
  type DataFile,
  type ManifestFile,
  type TableMetadata,
} from '@atoll/iceberg';
import { ObjectStore, S3FileIO } from '@atoll/storage';

export interface CatalogAnswer {
  status: number;
  body: unknown;
}

export interface RestAppendResult {
  snapshotId: bigint;
  /** Every commit answer, in order: 409s, then the 200 (or whatever ended the attempts). */
  commits: CatalogAnswer[];
  committed: boolean;
}

interface Loaded {
  metadata: TableMetadata;
  io: S3FileIO;
}

export class RestTableClient {
  constructor(private readonly opts: { catalogUrl: string; token: string; namespace: string; table: string }) {}

  private get tablePath(): string {
    return `${this.opts.catalogUrl}/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/tables/${encodeURIComponent(this.opts.table)}`;
  }

  /** loadTable with vended credentials: the metadata and a FileIO holding the table-scoped keys. */
  async load(): Promise<Loaded> {
    const res = await fetch(this.tablePath, { headers: { authorization: `Bearer ${this.opts.token}`, 'x-iceberg-access-delegation': 'vended-credentials' } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`loadTable answered ${res.status}: ${text}`);
    const body = parseJson(text) as { 'metadata-location': string; metadata: unknown; config: Record<string, string> };
    const metadata = parseTableMetadata(stringifyJson(body.metadata), body['metadata-location']);
    const c = body.config;
    const store = new ObjectStore({ endpoint: c['s3.endpoint']!, region: c['s3.region']!, accessKey: c['s3.access-key-id']!, secretKey: c['s3.secret-access-key']!, sessionToken: c['s3.session-token']! });
    return { metadata, io: new S3FileIO(store) };
  }

  /** Appends the local Parquet bytes described by `file` (its filePath is replaced by a fresh key under the table). */
  async append(file: { bytes: Uint8Array; dataFile: DataFile }, opts: { maxAttempts: number }): Promise<RestAppendResult> {
    let { metadata, io } = await this.load();
    const snapshotId = newSnapshotId();
    const dataFile: DataFile = { ...file.dataFile, filePath: `${metadata.location}/data/${randomUUID()}.parquet` };
    await io.write(dataFile.filePath, file.bytes, { ifNoneMatch: true });
    const manifestPath = `${metadata.location}/metadata/${randomUUID()}-m0.avro`;
    const manifestBytes = encodeManifest({
      schema: currentSchema(metadata),
      spec: UNPARTITIONED_SPEC,
      resolved: [],
      entries: [{ status: 1, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile, partitionTuple: [] }],
    });
    await io.write(manifestPath, manifestBytes, { ifNoneMatch: true });

    const commits: CatalogAnswer[] = [];
    for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
      const parentId = metadata.refs.main?.['snapshot-id'] ?? null;
      const parent = parentId === null ? undefined : snapshotById(metadata, parentId);
      const sequenceNumber = metadata['last-sequence-number'] + 1;
      const added: ManifestFile = {
        manifestPath,
        manifestLength: manifestBytes.length,
        partitionSpecId: UNPARTITIONED_SPEC['spec-id'],
        content: 0,
        sequenceNumber,
        minSequenceNumber: sequenceNumber,
        addedSnapshotId: snapshotId,
        addedFilesCount: 1,
        existingFilesCount: 0,
        deletedFilesCount: 0,
        addedRowsCount: dataFile.recordCount,
        existingRowsCount: 0,
        deletedRowsCount: 0,
        partitions: [],
        keyMetadata: null,
      };
      const manifestList = `${metadata.location}/metadata/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
      await io.write(manifestList, encodeManifestList({ manifests: [added, ...(parent ? await readManifestList(io, parent) : [])], snapshotId, parentSnapshotId: parentId, sequenceNumber }), { ifNoneMatch: true });
      const res = await fetch(this.tablePath, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
        body: stringifyJson({
          requirements: [
            { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
            { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parentId },
          ],
          updates: [
            {
              action: 'add-snapshot',
              snapshot: {
                'snapshot-id': snapshotId,
                ...(parentId !== null ? { 'parent-snapshot-id': parentId } : {}),
                'sequence-number': sequenceNumber,
                'timestamp-ms': Date.now(),
                'manifest-list': manifestList,
                summary: { operation: 'append', 'added-data-files': '1', 'added-records': String(dataFile.recordCount) },
                'schema-id': metadata['current-schema-id'],
              },
            },
            { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': snapshotId },
          ],
        }),
      });
      const text = await res.text();
      commits.push({ status: res.status, body: text ? JSON.parse(text) : null });
      if (res.status === 200) return { snapshotId, commits, committed: true };
      if (res.status !== 409) break;
      ({ metadata, io } = await this.load());
    }
    return { snapshotId, commits, committed: false };
  }
}
