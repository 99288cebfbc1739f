// The REST commit route's own part: the body parsed into the spec's types, the package's errors in the REST error
// model. The commit rules themselves are tested in @atoll/iceberg (updates.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileIO, MemoryCatalogStore, createTable, fileUri, icebergSchemaFromColumns, loadTable } from '@atoll/iceberg';
import { afterAll, describe, expect, it } from 'vitest';
import { commitTable, parseCommitRequest } from './commit.js';
import { IcebergRestError } from './errors.js';

function restError(fn: () => unknown): IcebergRestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IcebergRestError) return err;
    throw err;
  }
  throw new Error('expected an IcebergRestError');
}

describe('parseCommitRequest', () => {
  it('parses requirements and updates, 64-bit ids exact; missing requirements are none', () => {
    const id = 9_007_199_254_740_993n;
    const parsed = parseCommitRequest({ updates: [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id }] });
    expect(parsed).toEqual({ requirements: [], updates: [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id }] });
  });

  it('malformed bodies, unknown actions and requirement types are 400 BadRequestException', () => {
    expect(restError(() => parseCommitRequest([])).status).toBe(400);
    expect(restError(() => parseCommitRequest({ updates: {} })).status).toBe(400);
    expect(restError(() => parseCommitRequest({ updates: [{ action: 'rename-everything' }] })).type).toBe('BadRequestException');
    expect(restError(() => parseCommitRequest({ requirements: [{ type: 'assert-something' }], updates: [] })).type).toBe('BadRequestException');
    expect(restError(() => parseCommitRequest({ updates: [{ action: 'set-properties', updates: { a: 1 } }] })).message).toMatch(/updates\[0\]\.updates\.a must be a string/);
  });
});

describe('commitTable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-rest-commit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a failed requirement is 409 CommitFailedException, a refused update 400; nothing is written', async () => {
    const io = new LocalFileIO();
    const catalog = new MemoryCatalogStore();
    const id = { namespace: ['ns'], name: 't' };
    const table = await createTable({ io, catalog, id, location: fileUri(join(dir, 't')), schema: icebergSchemaFromColumns([{ name: 'id', type: 'long' }]) });
    const stale = commitTable({ io, catalog, id, request: parseCommitRequest({ requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 9 }], updates: [{ action: 'set-properties', updates: { z: '1' } }] }) });
    await expect(stale).rejects.toMatchObject({ type: 'CommitFailedException', status: 409 });
    const moved = commitTable({ io, catalog, id, request: parseCommitRequest({ updates: [{ action: 'set-properties', updates: { 'write.data.path': 's3://elsewhere/x' } }] }) });
    await expect(moved).rejects.toMatchObject({ type: 'BadRequestException', status: 400 });
    expect((await loadTable({ io, catalog, id })).metadataLocation).toBe(table.metadataLocation);
    const ok = await commitTable({ io, catalog, id, request: parseCommitRequest({ updates: [{ action: 'set-properties', updates: { z: '1' } }] }) });
    expect(ok.metadata.properties).toEqual({ z: '1' });
    expect(ok.metadataLocation.endsWith('/v2.metadata.json')).toBe(true);
  });
});
