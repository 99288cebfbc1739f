// Schema evolution: allowed changes commit a new current schema without touching data; refused ones write nothing.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCatalogStore } from './catalog-store.js';
import { createTable, loadTable } from './index.js';
import { InvalidInputError, SchemaEvolutionError } from './errors.js';
import { isAllowedPromotion, updateSchema } from './index.js';
import { LocalFileIO, fileUri } from './io.js';
import { currentSchema } from './metadata.js';
import { icebergSchemaFromColumns } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'atoll-evolution-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = new LocalFileIO();

async function freshTable(name: string): Promise<{ catalog: MemoryCatalogStore; id: { namespace: string[]; name: string }; location: string }> {
  const catalog = new MemoryCatalogStore();
  const id = { namespace: ['t'], name };
  const location = fileUri(join(dir, name));
  const schema = icebergSchemaFromColumns([
    { name: 'id', type: 'long', required: true },
    { name: 'name', type: 'string' },
    { name: 'amount', type: 'decimal(10,2)' },
  ]);
  // int and float are not Atoll column types, but tables written by other engines have them.
  schema.fields.push({ id: 4, name: 'n', required: false, type: 'int' }, { id: 5, name: 'f', required: false, type: 'float' });
  await createTable({ io, catalog, id, location, schema });
  return { catalog, id, location };
}

describe('isAllowedPromotion', () => {
  it('follows the spec', () => {
    expect(isAllowedPromotion('int', 'long')).toBe(true);
    expect(isAllowedPromotion('float', 'double')).toBe(true);
    expect(isAllowedPromotion('decimal(10,2)', 'decimal(12,2)')).toBe(true);
    expect(isAllowedPromotion('long', 'int')).toBe(false);
    expect(isAllowedPromotion('double', 'float')).toBe(false);
    expect(isAllowedPromotion('decimal(10,2)', 'decimal(9,2)')).toBe(false);
    expect(isAllowedPromotion('decimal(10,2)', 'decimal(12,3)')).toBe(false);
    expect(isAllowedPromotion('int', 'string')).toBe(false);
  });
});

describe('updateSchema', () => {
  it('adds, renames and widens in one new schema; ids stay, last-column-id grows', async () => {
    const t = await freshTable('ok');
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    const res = await updateSchema({
      io,
      catalog: t.catalog,
      id: t.id,
      changes: [
        { op: 'add-column', name: 'country', type: 'string', doc: 'ISO code' },
        { op: 'rename-column', from: 'name', to: 'full_name' },
        { op: 'widen-column', name: 'n', type: 'long' },
        { op: 'widen-column', name: 'f', type: 'double' },
        { op: 'widen-column', name: 'amount', type: 'decimal(18,2)' },
      ],
    });
    expect(res.alreadyCommitted).toBe(false);
    const after = await loadTable({ io, catalog: t.catalog, id: t.id });
    expect(after.metadataLocation).toBe(res.metadataLocation);
    expect(after.metadata['current-schema-id']).toBe(1);
    expect(after.metadata.schemas).toHaveLength(2);
    expect(after.metadata['last-column-id']).toBe(6);
    expect(after.metadata['metadata-log'].at(-1)?.['metadata-file']).toBe(before.metadataLocation);
    expect(after.metadata.snapshots).toHaveLength(0);
    expect(currentSchema(after.metadata).fields).toEqual([
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'full_name', required: false, type: 'string' },
      { id: 3, name: 'amount', required: false, type: 'decimal(18,2)' },
      { id: 4, name: 'n', required: false, type: 'long' },
      { id: 5, name: 'f', required: false, type: 'double' },
      { id: 6, name: 'country', required: false, type: 'string', doc: 'ISO code' },
    ]);
  });

  it.each([
    ['narrowing long → int', { op: 'widen-column', name: 'id', type: 'int' }],
    ['string → long', { op: 'widen-column', name: 'name', type: 'long' }],
    ['decimal scale change', { op: 'widen-column', name: 'amount', type: 'decimal(12,3)' }],
    ['a required new column', { op: 'add-column', name: 'x', type: 'string', required: true }],
    ['a duplicate name', { op: 'add-column', name: 'NAME', type: 'string' }],
    ['a rename onto an existing column', { op: 'rename-column', from: 'name', to: 'id' }],
    ['a rename of a missing column', { op: 'rename-column', from: 'nope', to: 'x' }],
    ['an unknown type', { op: 'add-column', name: 'x', type: 'varchar' }],
    ['an unknown op', { op: 'drop-column', name: 'name' }],
  ])('refuses %s and writes nothing', async (_label, change) => {
    const t = await freshTable(`bad-${Math.random().toString(36).slice(2)}`);
    const before = await loadTable({ io, catalog: t.catalog, id: t.id });
    const filesBefore = readdirSync(join(new URL(t.location).pathname, 'metadata')).sort();
    // A valid change first: the whole batch must be refused, not applied up to the bad one.
    const attempt = updateSchema({ io, catalog: t.catalog, id: t.id, changes: [{ op: 'add-column', name: 'ok', type: 'long' }, change as never] });
    await expect(attempt).rejects.toBeInstanceOf(SchemaEvolutionError);
    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
    const after = await loadTable({ io, catalog: t.catalog, id: t.id });
    expect(after.metadataLocation).toBe(before.metadataLocation);
    expect(readdirSync(join(new URL(t.location).pathname, 'metadata')).sort()).toEqual(filesBefore);
  });

  it('a narrowing error names the column and the promotion rule', async () => {
    const t = await freshTable('msg');
    await expect(updateSchema({ io, catalog: t.catalog, id: t.id, changes: [{ op: 'widen-column', name: 'id', type: 'int' }] })).rejects.toThrow(
      /"id" from long to int is not an allowed promotion/,
    );
  });

  it('is idempotent per commitId', async () => {
    const t = await freshTable('idem');
    const first = await updateSchema({ io, catalog: t.catalog, id: t.id, changes: [{ op: 'add-column', name: 'c', type: 'string' }], commitId: 'job-1' });
    const again = await updateSchema({ io, catalog: t.catalog, id: t.id, changes: [{ op: 'add-column', name: 'c', type: 'string' }], commitId: 'job-1' });
    expect(first.alreadyCommitted).toBe(false);
    expect(again.alreadyCommitted).toBe(true);
    expect(again.metadataLocation).toBe(first.metadataLocation);
    expect(currentSchema((await loadTable({ io, catalog: t.catalog, id: t.id })).metadata).fields.filter((f) => f.name === 'c')).toHaveLength(1);
  });

  it('concurrent schema changes both land (retry against the new base)', async () => {
    const t = await freshTable('race');
    await Promise.all([
      updateSchema({ io, catalog: t.catalog, id: t.id, changes: [{ op: 'add-column', name: 'a1', type: 'string' }] }),
      updateSchema({ io, catalog: t.catalog, id: t.id, changes: [{ op: 'add-column', name: 'a2', type: 'string' }] }),
    ]);
    const fields = currentSchema((await loadTable({ io, catalog: t.catalog, id: t.id })).metadata).fields;
    expect(fields.map((f) => [f.id, f.name]).slice(5).sort()).toEqual([
      [6, expect.stringMatching(/^a[12]$/)],
      [7, expect.stringMatching(/^a[12]$/)],
    ]);
    expect(new Set(fields.slice(5).map((f) => f.name))).toEqual(new Set(['a1', 'a2']));
  });
});
