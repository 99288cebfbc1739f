import { describe, expect, it } from 'vitest';
import { listMigrations } from './migrate.js';

describe('migrations', () => {
  // Numbers are handed out ahead of merges (branches in parallel take their own), so a gap can exist for a while;
  // the runner applies every version it has not recorded, in order, so a gap filled later is still applied.
  it('are numbered uniquely in increasing order and each has SQL', () => {
    const ms = listMigrations();
    expect(ms.length).toBeGreaterThan(0);
    expect(ms[0]!.version).toBe(1);
    ms.forEach((m, i) => {
      if (i > 0) expect(m.version).toBeGreaterThan(ms[i - 1]!.version);
      expect(m.sql.trim().length).toBeGreaterThan(0);
    });
  });
});
