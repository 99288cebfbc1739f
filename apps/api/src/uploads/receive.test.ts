import { describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { recordValidator } from './receive.js';

const columns = [
  { name: 'user_id', type: 'string', role: 'user_id' as const },
  { name: 'kind', type: 'string' },
  { name: 'value', type: 'long' },
];

describe('recordValidator', () => {
  it('for devices: fills user_id from the subject and refuses records that carry it', () => {
    const v = recordValidator(columns, { userId: 'u-1' });
    expect(v({ kind: 'a', value: 1 }, 1)).toEqual({ user_id: 'u-1', kind: 'a', value: 1 });
    expect(() => v({ user_id: 'victim', kind: 'a', value: 1 }, 4)).toThrow(/line 4: user_id is filled by the server/);
    expect(() => v({ kind: 'a', value: 'x' }, 2)).toThrow(AtollError);
  });
  it('for providers: the record names its user id', () => {
    const v = recordValidator(columns);
    expect(v({ user_id: 'u-2', kind: 'a', value: 1 }, 1)).toEqual({ user_id: 'u-2', kind: 'a', value: 1 });
    expect(() => v({ kind: 'a', value: 1 }, 3)).toThrow(/line 3/);
  });
});
