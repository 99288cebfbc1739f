import { describe, expect, it } from 'vitest';
import { columnTypeFromDuck, resultSchema } from './result-schema.js';

describe('result schema', () => {
  it('maps DuckDB result types to Atoll column types', () => {
    expect(columnTypeFromDuck('VARCHAR')).toBe('string');
    expect(columnTypeFromDuck('INTEGER')).toBe('long');
    expect(columnTypeFromDuck('DECIMAL(10,2)')).toBe('decimal(10,2)');
    expect(columnTypeFromDuck('TIMESTAMP')).toBe('timestamp');
    expect(columnTypeFromDuck('HUGEINT')).toBe('string');
    expect(columnTypeFromDuck('VARCHAR[]')).toBe('string');
  });
  it('keeps column order and marks tid required', () => {
    const s = resultSchema([{ name: 'tid', type: 'VARCHAR' }, { name: 'amount', type: 'DOUBLE' }]);
    expect(s.fields.map((f) => [f.id, f.name, f.type, f.required])).toEqual([
      [1, 'tid', 'string', true],
      [2, 'amount', 'double', false],
    ]);
  });
});
