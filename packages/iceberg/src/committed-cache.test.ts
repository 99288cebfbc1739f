import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CatalogStore } from './catalog-store.js';
import { committedMetadata, committedTables, rememberCommitted } from './committed-cache.js';
import type { TableMetadata } from './metadata.js';

const metadata = (n: number): TableMetadata => ({ 'format-version': 2, 'last-sequence-number': n }) as unknown as TableMetadata;
const id = (name: string) => ({ namespace: ['ns'], name });

afterEach(() => {
  vi.useRealTimers();
});

describe('committed-metadata cache', () => {
  it('answers for the location it remembered, within 30 s, and not for another location', () => {
    const catalog = {} as CatalogStore;
    rememberCommitted(catalog, id('t'), 's3://b/t/v1.json', metadata(1));
    expect(committedMetadata(catalog, id('t'), 's3://b/t/v1.json')).toMatchObject({ 'last-sequence-number': 1 });
    expect(committedMetadata(catalog, id('t'), 's3://b/t/v2.json')).toBeUndefined();
  });

  it('drops expired tables when it remembers another, so one-off commits to many tables are not held', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-01T00:00:00Z'));
    const catalog = {} as CatalogStore;
    for (let i = 0; i < 100; i += 1) rememberCommitted(catalog, id(`t${i}`), `s3://b/t${i}/v1.json`, metadata(i));
    expect(committedTables(catalog)).toBe(100);
    vi.setSystemTime(new Date('2026-12-01T00:00:31Z'));
    rememberCommitted(catalog, id('fresh'), 's3://b/fresh/v1.json', metadata(0));
    expect(committedTables(catalog)).toBe(1);
    expect(committedMetadata(catalog, id('fresh'), 's3://b/fresh/v1.json')).toBeDefined();
  });

  it('holds at most 256 tables, dropping the least recently remembered', () => {
    const catalog = {} as CatalogStore;
    for (let i = 0; i < 300; i += 1) rememberCommitted(catalog, id(`t${i}`), `s3://b/t${i}/v1.json`, metadata(i));
    expect(committedTables(catalog)).toBe(256);
    expect(committedMetadata(catalog, id('t0'), 's3://b/t0/v1.json')).toBeUndefined();
    expect(committedMetadata(catalog, id('t299'), 's3://b/t299/v1.json')).toBeDefined();
  });

  it('is shared by catalogs with one cache scope (stores over one pool) and by no other', () => {
    const pool = {};
    const first = { cacheScope: pool } as CatalogStore;
    const second = { cacheScope: pool } as CatalogStore;
    const elsewhere = { cacheScope: {} } as CatalogStore;
    rememberCommitted(first, id('t'), 's3://b/t/v1.json', metadata(1));
    expect(committedMetadata(second, id('t'), 's3://b/t/v1.json')).toMatchObject({ 'last-sequence-number': 1 });
    expect(committedMetadata(elsewhere, id('t'), 's3://b/t/v1.json')).toBeUndefined();
    expect(committedMetadata({} as CatalogStore, id('t'), 's3://b/t/v1.json')).toBeUndefined();
  });
});
