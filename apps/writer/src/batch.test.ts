// The pending-file JSON round trip: partition values that JSON cannot hold (bigint, bytes) and bounds come back exact.
import type { DataFile } from '@atoll/iceberg';
import { describe, expect, it } from 'vitest';
import { decodeDataFile, encodeDataFile } from './batch.js';

describe('pending data file JSON', () => {
  it('round-trips partition values of every kind and the column statistics', () => {
    const file: DataFile = {
      filePath: 's3://lake/raw/t/data/a.parquet',
      fileFormat: 'PARQUET',
      specId: 1,
      partition: { day: 20_454, id_bucket: 3n, name: 'x', flag: true, raw: new Uint8Array([0, 255, 7]), none: null },
      recordCount: 3,
      fileSizeInBytes: 1234,
      columnSizes: { 1: 10 },
      valueCounts: { 1: 3 },
      nullValueCounts: { 1: 0 },
      lowerBounds: { 1: 'AAE=' },
      upperBounds: { 1: 'AAI=' },
    };
    const back = decodeDataFile(JSON.parse(JSON.stringify(encodeDataFile(file))) as Record<string, unknown>);
    expect(back).toEqual(file);
    expect(back.partition.id_bucket).toBe(3n);
    expect(back.partition.raw).toBeInstanceOf(Uint8Array);
  });
});
