import { describe, expect, it } from 'vitest';
import { classifyStagedKey, parseNotification } from './objects.js';

const p = '0b0e4c1e-8f51-4a53-9a43-4c3f2f6e1a10';

describe('classifyStagedKey', () => {
  it('reads table, format and compression from the key', () => {
    expect(classifyStagedKey(`${p}/purchases/2026/01/a.csv`)).toEqual({ kind: 'file', providerId: p, table: 'purchases', format: 'csv', compression: undefined });
    expect(classifyStagedKey(`${p}/purchases/a.csv.gz`)).toMatchObject({ format: 'csv', compression: 'gzip' });
    expect(classifyStagedKey(`${p}/purchases/a.parquet.bz2`)).toMatchObject({ format: 'parquet', compression: 'bzip2' });
    expect(classifyStagedKey(`${p}/purchases/export.zip`)).toMatchObject({ format: undefined, compression: 'zip' });
    expect(classifyStagedKey(`${p}/purchases/a.AVRO`)).toMatchObject({ format: 'avro' });
  });
  it('rejects files outside a table folder or of unknown type, ignores what is not a provider file', () => {
    const reason = (key: string): string => {
      const c = classifyStagedKey(key);
      return c.kind === 'rejected' ? `${c.table}|${c.reason}` : c.kind;
    };
    expect(reason(`${p}/a.csv`)).toMatch(/^\|a\.csv is outside a table folder/);
    expect(reason(`${p}/purchases/a.xlsx`)).toMatch(/^purchases\|unsupported file type/);
    expect(reason(`${p}/Bad-Table/a.csv`)).toMatch(/not a table name/);
    expect(classifyStagedKey(`_api/${p}/purchases/x.ndjson`)).toEqual({ kind: 'ignored' });
    expect(classifyStagedKey(`${p}/purchases/`)).toEqual({ kind: 'ignored' });
  });
});

describe('parseNotification', () => {
  it('reads created objects from MinIO access-format entries and decodes keys', () => {
    const entry = JSON.stringify([
      {
        Event: [
          { eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: 'st' }, object: { key: `${p}/t/a+b%2Fc.csv`, size: 12, eTag: '"abc"' } } },
          { eventName: 's3:ObjectRemoved:Delete', s3: { bucket: { name: 'st' }, object: { key: 'x', eTag: 'e' } } },
        ],
        EventTime: '2026-01-01T00:00:00Z',
      },
    ]);
    expect(parseNotification(entry)).toEqual([{ bucket: 'st', key: `${p}/t/a b/c.csv`, size: 12, etag: 'abc' }]);
    expect(parseNotification('not json')).toEqual([]);
  });
});
