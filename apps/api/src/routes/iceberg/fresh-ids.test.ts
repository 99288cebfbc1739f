import { describe, expect, it } from 'vitest';
import type { IcebergSchema } from '@atoll/iceberg';
import { assignFreshIds, remapSpecSources } from './fresh-ids.js';

describe('assignFreshIds', () => {
  it('numbers from 1, a struct\'s fields before their children, like Iceberg\'s TypeUtil.assignFreshIds', () => {
    const schema: IcebergSchema = {
      type: 'struct',
      'schema-id': 3,
      'identifier-field-ids': [10],
      fields: [
        { id: 10, name: 'id', required: true, type: 'long' },
        { id: 11, name: 'tags', required: false, type: { type: 'list', 'element-id': 12, element: 'string', 'element-required': false } },
        { id: 13, name: 'attrs', required: false, type: { type: 'map', 'key-id': 14, key: 'string', 'value-id': 15, value: { type: 'struct', fields: [{ id: 16, name: 'v', required: false, type: 'int' }] }, 'value-required': false } },
        { id: 17, name: 'data', required: true, type: 'string' },
      ],
    };
    const { schema: fresh, ids } = assignFreshIds(schema);
    expect(fresh.fields.map((f) => [f.name, f.id])).toEqual([['id', 1], ['tags', 2], ['attrs', 3], ['data', 4]]);
    expect(fresh.fields[1]!.type).toMatchObject({ 'element-id': 5 });
    expect(fresh.fields[2]!.type).toMatchObject({ 'key-id': 6, 'value-id': 7, value: { fields: [{ id: 8, name: 'v' }] } });
    expect(fresh['identifier-field-ids']).toEqual([1]);
    expect(fresh['schema-id']).toBe(0);
    expect(remapSpecSources({ 'spec-id': 0, fields: [{ 'source-id': 17, 'field-id': 1000, name: 'd', transform: 'identity' }] }, ids)).toEqual({
      'spec-id': 0,
      fields: [{ 'source-id': 4, 'field-id': 1000, name: 'd', transform: 'identity' }],
    });
  });
});
