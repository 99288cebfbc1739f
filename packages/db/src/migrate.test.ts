import { describe, expect, it } from 'vitest';
import { listMigrations } from './migrate.js';

describe('migrations', () => {
  it('are numbered without gaps and each has SQL', () => {
    const ms = listMigrations();
    expect(ms.length).toBeGreaterThan(0);
    ms.forEach((m, i) => {
      expect(m.version).toBe(i + 1);
      expect(m.sql.trim().length).toBeGreaterThan(0);
    });
  });
});
