// Views: metadata files written and read back, updates and requirements, the compare-and-swap commit with server-side
// retry, drop; on a memory catalog and local files.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryViewCatalogStore } from './catalog-store.js';
import { CommitConflictError, CorruptMetadataError, IdentifierTakenError, InvalidInputError, ViewNotFoundError } from './errors.js';
import { LocalFileIO, fileUri } from './io.js';
import type { IcebergSchema } from './types.js';
import { commitViewUpdates, createView, dropView, loadView } from './view-lifecycle.js';
import type { ViewUpdate, ViewVersion } from './view-metadata.js';
import { applyViewUpdates, currentViewVersion, newViewMetadata, parseViewMetadata, parseViewUpdate, parseViewVersion, serializeViewMetadata } from './view-metadata.js';

const dir = mkdtempSync(join(tmpdir(), 'atoll-views-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCHEMA: IcebergSchema = { type: 'struct', 'schema-id': 5, fields: [{ id: 3, name: 'id', type: 'int', required: true, doc: 'unique ID' }, { id: 4, name: 'data', type: 'string', required: true }] };
const OTHER: IcebergSchema = { type: 'struct', 'schema-id': 7, fields: [{ id: 1, name: 'some_id', type: 'int', required: true }] };
const version = (sql: string, dialect = 'spark', extra: Partial<ViewVersion> = {}): ViewVersion => ({
  'version-id': 1,
  'timestamp-ms': 1_700_000_000_000,
  'schema-id': 0,
  summary: { 'engine-name': 'test' },
  representations: [{ type: 'sql', sql, dialect }],
  'default-namespace': ['ns'],
  ...extra,
});
const replace = (schema: IcebergSchema, v: ViewVersion): ViewUpdate[] => [
  { action: 'add-schema', schema },
  { action: 'add-view-version', 'view-version': { ...v, 'schema-id': -1 } },
  { action: 'set-current-view-version', 'view-version-id': -1 },
];

describe('view metadata', () => {
  it('a new view: schema 0, version 1 current, one history entry; written and read back identically', () => {
    const m = newViewMetadata({ location: 's3://lake/ns/v/', schema: SCHEMA, version: version('select 1'), properties: { a: '1' }, nowMs: 1_700_000_000_500 });
    expect(m.location).toBe('s3://lake/ns/v');
    expect(m.schemas.map((s) => s['schema-id'])).toEqual([0]);
    expect(m.schemas[0]!.fields[0]!.doc).toBe('unique ID');
    expect(m['current-version-id']).toBe(1);
    expect(m['version-log']).toEqual([{ 'timestamp-ms': 1_700_000_000_500, 'version-id': 1 }]);
    expect(parseViewMetadata(serializeViewMetadata(m), 'round trip')).toEqual(m);
  });

  it('a replace adds schema 1 and version 2; an identical schema or version is reused, not duplicated', () => {
    const m = newViewMetadata({ location: 's3://lake/ns/v', schema: SCHEMA, version: version('select 1') });
    const r = applyViewUpdates(m, replace(OTHER, version('select 2', 'spark', { 'version-id': 9 })));
    expect(r.schemas.map((s) => s['schema-id'])).toEqual([0, 1]);
    expect(currentViewVersion(r)).toMatchObject({ 'version-id': 2, 'schema-id': 1 });
    expect(r['version-log'].map((e) => e['version-id'])).toEqual([1, 2]);
    // Going back to the first query and schema makes version 1 current again (no third version).
    const back = applyViewUpdates(r, replace(SCHEMA, version('select 1')));
    expect(back.versions).toHaveLength(2);
    expect(back['current-version-id']).toBe(1);
    expect(back['version-log'].map((e) => e['version-id'])).toEqual([1, 2, 1]);
  });

  it('refuses what the view spec forbids: duplicate dialects, lost dialects without permission, moves, location properties', () => {
    expect(() => parseViewVersion({ ...version('x'), representations: [{ type: 'sql', sql: 'a', dialect: 'trino' }, { type: 'sql', sql: 'b', dialect: 'TRINO' }] })).toThrow(
      'Invalid view version: Cannot add multiple queries for dialect trino',
    );
    expect(() => parseViewVersion({ ...version('x'), representations: [] })).toThrow(InvalidInputError);
    const m = newViewMetadata({ location: 's3://lake/ns/v', schema: SCHEMA, version: version('select 1', 'spark') });
    expect(() => applyViewUpdates(m, replace(SCHEMA, version('select 1', 'trino')))).toThrow(/loss of view dialects/);
    const allowed = applyViewUpdates(m, [{ action: 'set-properties', updates: { 'replace.drop-dialect.allowed': 'true' } }, ...replace(SCHEMA, version('select 1', 'trino'))]);
    expect(currentViewVersion(allowed).representations[0]!.dialect).toBe('trino');
    expect(() => applyViewUpdates(m, [{ action: 'set-location', location: 'file:///tmp/elsewhere' }])).toThrow(/cannot move/);
    expect(applyViewUpdates(m, [{ action: 'set-location', location: 's3://lake/ns/v/' }]).location).toBe('s3://lake/ns/v');
    expect(() => applyViewUpdates(m, [{ action: 'set-properties', updates: { 'write.metadata.path': 's3://lake/other' } }])).toThrow(InvalidInputError);
    expect(() => applyViewUpdates(m, [{ action: 'upgrade-format-version', 'format-version': 2 }])).toThrow(InvalidInputError);
    expect(() => applyViewUpdates(m, [{ action: 'set-current-view-version', 'view-version-id': 7 }])).toThrow(/does not exist/);
    expect(() => parseViewUpdate({ action: 'add-snapshot' })).toThrow(/unsupported view update action/);
    expect(() => parseViewUpdate({ action: 'set-properties', updates: { k: null } })).toThrow(InvalidInputError);
  });

  it('a metadata file that breaks the spec is corrupt, naming the file', () => {
    const good = JSON.parse(serializeViewMetadata(newViewMetadata({ location: 's3://lake/ns/v', schema: SCHEMA, version: version('select 1') }))) as Record<string, unknown>;
    expect(() => parseViewMetadata(JSON.stringify({ ...good, 'current-version-id': 3 }), 's3://lake/ns/v/metadata/v1.metadata.json')).toThrow(CorruptMetadataError);
    expect(() => parseViewMetadata(JSON.stringify({ ...good, 'format-version': 2 }), 'f')).toThrow(/format-version 2/);
    expect(() => parseViewMetadata('{', 'f')).toThrow(CorruptMetadataError);
  });
});

describe('view lifecycle', () => {
  const io = new LocalFileIO();
  const location = fileUri(join(dir, 'ns', 'v'));
  const id = { namespace: ['ns'], name: 'v' };

  it('create writes v1.metadata.json; a second create of the name is refused; load reads it back', async () => {
    const views = new MemoryViewCatalogStore();
    const created = await createView({ io, views, id, location, schema: SCHEMA, version: version('select 1') });
    expect(created.metadataLocation).toBe(`${location}/metadata/v1.metadata.json`);
    expect((JSON.parse(readFileSync(fileURLToPath(created.metadataLocation), 'utf8')) as { 'view-uuid': string })['view-uuid']).toBe(created.metadata['view-uuid']);
    await expect(createView({ io, views, id, location: `${location}-2`, schema: SCHEMA, version: version('select 1') })).rejects.toThrow(IdentifierTakenError);
    expect((await loadView({ io, views, id })).metadata).toEqual(created.metadata);
    expect(await dropView({ views, id })).toBe(true);
    await expect(loadView({ io, views, id })).rejects.toThrow(ViewNotFoundError);
  });

  it('commits swap the pointer to the next file; concurrent replaces both land (retried on the new base); a wrong uuid is a conflict', async () => {
    const views = new MemoryViewCatalogStore();
    const loc = fileUri(join(dir, 'ns', 'w'));
    const wid = { namespace: ['ns'], name: 'w' };
    const created = await createView({ io, views, id: wid, location: loc, schema: SCHEMA, version: version('select 1', 'trino'), properties: { 'replace.drop-dialect.allowed': 'true' } });
    const uuid = created.metadata['view-uuid'];
    const [a, b] = await Promise.all([
      commitViewUpdates({ io, views, id: wid, requirements: [{ type: 'assert-view-uuid', uuid }], updates: replace(OTHER, version('select count(some_id)', 'spark')) }),
      commitViewUpdates({ io, views, id: wid, requirements: [{ type: 'assert-view-uuid', uuid }], updates: replace(SCHEMA, version('select count(id)', 'trino')) }),
    ]);
    const final = await loadView({ io, views, id: wid });
    expect(final.metadata.versions.map((v) => v['version-id'])).toEqual([1, 2, 3]);
    // The loser's first file stays unreferenced (numbers may skip); the pointer names the second commit's file.
    const [first, second] = [a, b].sort((x, y) => x.metadata.versions.length - y.metadata.versions.length);
    expect(first!.metadata.versions).toHaveLength(2);
    expect(final.metadataLocation).toBe(second!.metadataLocation);
    expect(final.metadata['version-log'].map((e) => e['version-id'])).toEqual([1, 2, 3]);
    await expect(commitViewUpdates({ io, views, id: wid, requirements: [{ type: 'assert-view-uuid', uuid: '00000000-0000-4000-8000-000000000000' }], updates: [{ action: 'set-properties', updates: { k: 'v' } }] })).rejects.toThrow(
      CommitConflictError,
    );
    // A refused update writes nothing: the pointer stays.
    await expect(commitViewUpdates({ io, views, id: wid, requirements: [], updates: [{ action: 'set-location', location: 'file:///elsewhere' }] })).rejects.toThrow(InvalidInputError);
    expect((await loadView({ io, views, id: wid })).metadataLocation).toBe(final.metadataLocation);
    await dropView({ views, id: wid });
    await expect(commitViewUpdates({ io, views, id: wid, requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] })).rejects.toThrow('View does not exist: ns.w');
  });
});
