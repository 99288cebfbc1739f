import { describe, expect, it } from 'vitest';
import type { ObjectIO } from './io.js';
import { encodeManifest, type ManifestEntry, type ManifestFile } from './manifest.js';
import { newTableMetadata } from './metadata.js';
import { UNPARTITIONED_SPEC, resolvePartitionSpec } from './partition.js';
import { estimatedEntryBytes, manifestCacheSize, readManifestEntries } from './scan.js';
import type { IcebergSchema } from './types.js';

const wideSchema = (cols: number): IcebergSchema =>
  ({ type: 'struct', 'schema-id': 0, fields: Array.from({ length: cols }, (_, i) => ({ id: i + 1, name: `c${i}`, required: false, type: 'long' })) });

const entries = (cols: number, count: number): ManifestEntry[] => {
  const stat = <T>(v: T): Record<number, T> => Object.fromEntries(Array.from({ length: cols }, (_, i) => [i + 1, v]));
  const bound = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]).toString('base64');
  return Array.from({ length: count }, (_, k) => ({
    status: 1,
    snapshotId: 1n,
    sequenceNumber: null,
    fileSequenceNumber: null,
    partitionTuple: [],
    dataFile: {
      filePath: `s3://atoll-lake/ns/t/data/${k}-0c3f2a1b-5e7d-4b8a-9c1d-2e3f4a5b6c7d.parquet`,
      fileFormat: 'PARQUET',
      specId: 0,
      partition: {},
      recordCount: 100,
      fileSizeInBytes: 12_345,
      columnSizes: stat(100),
      valueCounts: stat(100),
      nullValueCounts: stat(0),
      lowerBounds: stat(bound),
      upperBounds: stat(bound),
    },
  }));
};

describe('decoded-manifest cache', () => {
  it('estimates an entry at or above what it measured on the heap (2 KB with 5 columns of stats, 8 KB with 60)', () => {
    expect(estimatedEntryBytes(entries(5, 1)[0]!)).toBeGreaterThanOrEqual(1_950);
    expect(estimatedEntryBytes(entries(20, 1)[0]!)).toBeGreaterThanOrEqual(4_000);
    expect(estimatedEntryBytes(entries(60, 1)[0]!)).toBeGreaterThanOrEqual(8_130);
  });

  it('stays under its size bound with wide manifests: the oldest are dropped and read again when asked for', async () => {
    const schema = wideSchema(60);
    const resolved = resolvePartitionSpec(schema, UNPARTITIONED_SPEC);
    const bytes = encodeManifest({ schema, spec: UNPARTITIONED_SPEC, resolved, entries: entries(60, 2_000) });
    const reads: string[] = [];
    const io = {
      read: (uri: string) => {
        reads.push(uri);
        return Promise.resolve(bytes);
      },
    } as unknown as ObjectIO;
    const metadata = newTableMetadata({ location: 's3://atoll-lake/ns/t', schema, partitionSpec: UNPARTITIONED_SPEC });
    const manifest = (i: number): ManifestFile => ({ manifestPath: `s3://atoll-lake/ns/t/metadata/m${i}-${process.pid}.avro`, content: 0, partitionSpecId: 0 }) as ManifestFile;
    // Eight manifests of 2,000 entries with 60 columns of stats: ~20 MB each by the estimate, over the 128 MB bound.
    for (let i = 0; i < 8; i += 1) expect(await readManifestEntries(io, metadata, manifest(i))).toHaveLength(2_000);
    expect(manifestCacheSize().estimatedBytes).toBeLessThanOrEqual(128 * 1024 * 1024);
    expect(reads).toHaveLength(8);
    // The newest is served from memory, the oldest was dropped and is read again.
    await readManifestEntries(io, metadata, manifest(7));
    expect(reads).toHaveLength(8);
    await readManifestEntries(io, metadata, manifest(0));
    expect(reads).toHaveLength(9);
  });
});
