import { describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import type { LoadedTable } from '@atoll/iceberg';
import { monthlyUpdateRate, quote, recordsAddedRecently } from './pricing.js';
import type { DatasetRecord } from './delivery.js';

const ds = (name: string, price: DatasetRecord['price']): DatasetRecord => ({ name, providerId: 'p', table: 't', columns: [], price, minCohort: 25 });

describe('quote', () => {
  it('sums the prices of the datasets read', () => {
    expect(quote([ds('a', { amount: 0.01, currency: 'usd' }), ds('b', { amount: 0.02, currency: 'usd' })])).toEqual({ perRecord: 0.03, currency: 'usd', prices: { a: 0.01, b: 0.02 } });
  });
  it('refuses an unpriced dataset and mixed currencies', () => {
    expect(() => quote([ds('a', { amount: 0.01, currency: 'usd' }), ds('b', null)])).toThrow(AtollError);
    expect(() => quote([ds('a', { amount: 0.01, currency: 'usd' }), ds('b', { amount: 1, currency: 'eur' })])).toThrow(/different currencies/);
  });
});

describe('monthly update rate', () => {
  const now = Date.UTC(2026, 10, 30);
  const snap = (daysAgo: number, added: number, operation = 'append') => ({ 'timestamp-ms': now - daysAgo * 86_400_000, summary: { operation, 'added-records': String(added) } });
  const table = { metadata: { snapshots: [snap(40, 1000), snap(20, 300), snap(5, 200), snap(1, 500, 'replace')] } } as unknown as LoadedTable;
  it('counts appends of the last 30 days, not compactions or older ones', () => {
    expect(recordsAddedRecently(table, now)).toBe(500);
    expect(recordsAddedRecently(null, now)).toBe(0);
  });
  it('scales by the share of input rows the query keeps', () => {
    expect(monthlyUpdateRate({ addedRecently: 500, inputRecords: 1000, records: 250 })).toBe(125);
    expect(monthlyUpdateRate({ addedRecently: 500, inputRecords: 0, records: 0 })).toBe(0);
  });
});
