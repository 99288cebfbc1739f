import { describe, expect, it } from 'vitest';
import { isEnvironmentFailure } from './environment.js';

describe('isEnvironmentFailure', () => {
  it('knows a full disk, memory and file-handle exhaustion by code or by DuckDB message', () => {
    expect(isEnvironmentFailure(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe(true);
    expect(isEnvironmentFailure(new Error('IO Error: Could not write file "/w/part.parquet": No space left on device'))).toBe(true);
    expect(isEnvironmentFailure(new Error('Out of Memory Error: failed to allocate data of size 64.0 MiB'))).toBe(true);
    expect(isEnvironmentFailure(Object.assign(new Error('open'), { code: 'EMFILE' }))).toBe(true);
    expect(isEnvironmentFailure(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) }))).toBe(true);
  });

  it('leaves bad input to be rejected', () => {
    expect(isEnvironmentFailure(new Error('Conversion Error: Could not convert string "x" to INT64'))).toBe(false);
    expect(isEnvironmentFailure(new Error('Invalid Input Error: No magic bytes found at end of file'))).toBe(false);
    expect(isEnvironmentFailure(new Error('invalid bit length repeat'))).toBe(false);
    expect(isEnvironmentFailure(Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' }))).toBe(false);
    expect(isEnvironmentFailure(null)).toBe(false);
  });
});
