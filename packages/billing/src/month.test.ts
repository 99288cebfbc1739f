import { describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { monthOf, parseMonth, previousMonth, toMicros } from './month.js';

describe('billing months', () => {
  it('accepts YYYY-MM and refuses everything else with INVALID_MONTH', () => {
    expect(parseMonth('2026-11')).toBe('2026-11');
    for (const bad of ['2026-13', '2026-1', '26-11', '2026-11-01', '', 'november', undefined, '1999-12']) {
      expect(() => parseMonth(bad)).toThrow(AtollError);
      try {
        parseMonth(bad);
      } catch (e) {
        expect((e as AtollError).code).toBe('INVALID_MONTH');
        expect((e as AtollError).status).toBe(400);
      }
    }
  });

  it('knows the month of a moment in UTC and the month before', () => {
    expect(monthOf(new Date('2026-12-01T00:30:00+01:00'))).toBe('2026-11');
    expect(previousMonth('2027-01')).toBe('2026-12');
    expect(previousMonth('2026-11')).toBe('2026-10');
  });
});

describe('meter units', () => {
  it('turns exact decimals into millionths without floating point', () => {
    expect(toMicros('1.16')).toBe(1_160_000n);
    expect(toMicros('0.000001')).toBe(1n);
    expect(toMicros('12345678901234.123456')).toBe(12_345_678_901_234_123_456n);
    expect(toMicros('3')).toBe(3_000_000n);
    expect(toMicros('0.1200000000')).toBe(120_000n);
    // 0.1 + 0.2 in floating point is 0.30000000000000004; the ledger's decimals stay exact.
    expect(toMicros('0.3')).toBe(toMicros('0.1') + toMicros('0.2'));
    expect(() => toMicros('-1')).toThrow();
    expect(() => toMicros('0.0000001')).toThrow();
  });
});
