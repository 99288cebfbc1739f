import { describe, expect, it } from 'vitest';
import { Duck, literal } from '@atoll/duck';
import { maskPiiSql } from './pii.js';

describe('maskPiiSql', () => {
  it('masks emails, IPs and phone numbers in free text and leaves ordinary text alone', async () => {
    const duck = await Duck.open({ threads: 1, memoryLimit: '64MB' });
    try {
      const mask = async (text: string): Promise<string> => (await duck.all<{ m: string }>(`SELECT ${maskPiiSql(literal(text))} AS m`))[0]!.m;
      expect(await mask('write to jane.doe+x@mail.example.co.uk today')).toBe('write to [email] today');
      expect(await mask('login from 192.168.10.254, then 2001:0db8:85a3:0000:0000:8a2e:0370:7334')).toBe('login from [ip], then [ip]');
      expect(await mask('call +44 20 7946 0958 or (555) 123-4567')).toBe('call [phone] or [phone]');
      expect(await mask('ring 555.123.4567')).toBe('ring [phone]');
      expect(await mask('order 1234, 2 items, size 10.5, plain 1000, shipped 2026-01-02 03:04')).toBe('order 1234, 2 items, size 10.5, plain 1000, shipped 2026-01-02 03:04');
    } finally {
      duck.close();
    }
  });
});
