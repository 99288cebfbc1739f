import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tidFor } from './tid.js';

describe('tidFor', () => {
  const key = 'k'.repeat(32);
  it('is a keyed HMAC of provider and user id, 32 hex chars', () => {
    const expected = createHmac('sha256', key).update('p1\u0000u1').digest('hex').slice(0, 32);
    expect(tidFor(key, 'p1', 'u1')).toBe(expected);
    expect(tidFor(key, 'p1', 'u1')).toMatch(/^[0-9a-f]{32}$/);
  });
  it('differs per provider, per user and per key, and cannot be split ambiguously', () => {
    expect(tidFor(key, 'p1', 'u1')).not.toBe(tidFor(key, 'p2', 'u1'));
    expect(tidFor(key, 'p1', 'u1')).not.toBe(tidFor(key, 'p1', 'u2'));
    expect(tidFor(key, 'p1', 'u1')).not.toBe(tidFor('x'.repeat(32), 'p1', 'u1'));
    expect(tidFor(key, 'ab', 'c')).not.toBe(tidFor(key, 'a', 'bc'));
  });
});
