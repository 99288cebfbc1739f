import { describe, expect, it } from 'vitest';
import { supersedesInLogOrder, type LogStep } from './supersede.js';

const lic = (id: string, tables: string[], subject = 's1', provider = 'p1'): LogStep => ({ kind: 'license', id, provider, subject, tables });
const rev = (license: string, subject = 's1', provider = 'p1'): LogStep => ({ kind: 'revocation', provider, subject, license });

describe('supersedesInLogOrder', () => {
  it('a burst for one subject chains: each license supersedes the one logged just before it', () => {
    expect(supersedesInLogOrder([], [lic('a', ['events']), lic('b', ['events']), lic('c', ['events'])])).toEqual([[], ['a'], ['b']]);
    expect(supersedesInLogOrder([{ id: 'old', provider: 'p1', subject: 's1', tables: ['events'] }], [lic('a', ['events']), lic('b', ['events'])])).toEqual([['old'], ['a']]);
  });

  it('supersedes only licenses whose tables are a subset of the new one, of the same provider and subject', () => {
    const live = [
      { id: 'ev', provider: 'p1', subject: 's1', tables: ['events'] },
      { id: 'both', provider: 'p1', subject: 's1', tables: ['events', 'orders'] },
      { id: 'other-subject', provider: 'p1', subject: 's2', tables: ['events'] },
      { id: 'other-provider', provider: 'p2', subject: 's1', tables: ['events'] },
    ];
    expect(supersedesInLogOrder(live, [lic('n', ['events'])])).toEqual([['ev']]);
    expect(supersedesInLogOrder(live, [lic('n', ['orders', 'events'])])).toEqual([['ev', 'both']]);
    expect(supersedesInLogOrder(live, [lic('n', ['orders'])])).toEqual([[]]);
  });

  it('a revocation earlier in the log removes its license from what a later one supersedes', () => {
    const live = [{ id: 'x', provider: 'p1', subject: 's1', tables: ['events'] }];
    expect(supersedesInLogOrder(live, [rev('x'), lic('n', ['events'])])).toEqual([[], []]);
  });

  it('refuses a revocation of a license superseded earlier in the log, revoked twice, or never live', () => {
    const live = [{ id: 'x', provider: 'p1', subject: 's1', tables: ['events'] }];
    expect(() => supersedesInLogOrder(live, [lic('n', ['events']), rev('x')])).toThrow(expect.objectContaining({ code: 'LICENSE_ENDED' }));
    expect(() => supersedesInLogOrder(live, [rev('x'), rev('x')])).toThrow(expect.objectContaining({ code: 'LICENSE_ENDED' }));
    expect(() => supersedesInLogOrder(live, [rev('x', 's2')])).toThrow(expect.objectContaining({ code: 'LICENSE_ENDED' }));
    // A license made earlier in the same batch may be revoked later in it.
    expect(supersedesInLogOrder([], [lic('n', ['events']), rev('n')])).toEqual([[], []]);
  });
});
