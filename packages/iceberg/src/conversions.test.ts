// Single-value binary serialization (spec Appendix D), value parsing, and partition transforms (Appendix B vectors).
import { describe, expect, it } from 'vitest';
import {
  daysFromCivil,
  formatDecimal,
  formatTimestamp,
  fromBinary,
  normalizeValue,
  parseDate,
  parseDecimalUnscaled,
  parseTimestampMicros,
  toBinary,
} from './conversions.js';
import { buildPartitionSpec, partitionForRow } from './partition.js';
import { icebergSchemaFromColumns } from './schema.js';
import { applyTransform, bucketHash, murmur3x86_32, parseTransform, transformResultType } from './transforms.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('binary single-value serialization', () => {
  it('long: 8-byte little-endian two’s complement', () => {
    expect(hex(toBinary('long', 1n))).toBe('0100000000000000');
    expect(hex(toBinary('long', -2n))).toBe('feffffffffffffff');
    expect(hex(toBinary('long', 9223372036854775807n))).toBe('ffffffffffffff7f');
    expect(fromBinary('long', toBinary('long', -9007199254740993n))).toBe(-9007199254740993n);
  });

  it('double: 8-byte little-endian IEEE 754', () => {
    expect(hex(toBinary('double', 1.5))).toBe('000000000000f83f');
    expect(hex(toBinary('double', -0))).toBe('0000000000000080');
    expect(fromBinary('double', toBinary('double', 0.1))).toBe(0.1);
    expect(hex(toBinary('float', 1))).toBe('0000803f');
  });

  it('string: UTF-8 bytes without length', () => {
    expect(hex(toBinary('string', 'iceberg'))).toBe(Buffer.from('iceberg').toString('hex'));
    expect(hex(toBinary('string', 'é😀'))).toBe('c3a9f09f9880');
    expect(fromBinary('string', toBinary('string', 'é😀'))).toBe('é😀');
  });

  it('date: days from 1970-01-01 as 4-byte little-endian int', () => {
    expect(parseDate('2017-11-16')).toBe(17486);
    expect(hex(toBinary('date', 17486))).toBe('4e440000');
    expect(hex(toBinary('date', parseDate('1969-12-31')!))).toBe('ffffffff');
    expect(parseDate('0001-01-01 (BC)')).toBe(daysFromCivil(0, 1, 1));
    expect(parseDate('2023-02-29')).toBeNull();
  });

  it('timestamp: microseconds from epoch as 8-byte little-endian long', () => {
    const micros = parseTimestampMicros('2017-11-16 22:31:08.000001')!;
    expect(micros).toBe(1510871468000001n);
    expect(hex(toBinary('timestamp', micros))).toBe(hex(toBinary('long', 1510871468000001n)));
    expect(parseTimestampMicros('1969-12-31T23:59:59.999999')).toBe(-1n);
    expect(parseTimestampMicros('2017-11-16 14:31:08-08')).toBe(1510871468000000n);
    expect(parseTimestampMicros('2017-11-16T22:31:08Z')).toBe(1510871468000000n);
    expect(formatTimestamp(-1n)).toBe('1969-12-31T23:59:59.999999');
  });

  it('decimal: unscaled value, two’s-complement big-endian, minimum bytes', () => {
    expect(parseDecimalUnscaled('14.20', 2)).toBe(1420n);
    expect(parseDecimalUnscaled('-5', 2)).toBe(-500n);
    expect(parseDecimalUnscaled('1.234', 2)).toBeNull();
    expect(hex(toBinary('decimal(9,2)', 1420n))).toBe('058c');
    expect(hex(toBinary('decimal(9,2)', 127n))).toBe('7f');
    expect(hex(toBinary('decimal(9,2)', 128n))).toBe('0080');
    expect(hex(toBinary('decimal(9,2)', -1n))).toBe('ff');
    expect(hex(toBinary('decimal(9,2)', -129n))).toBe('ff7f');
    expect(hex(toBinary('decimal(9,2)', 0n))).toBe('00');
    expect(fromBinary('decimal(38,2)', toBinary('decimal(38,2)', -(10n ** 37n)))).toBe(-(10n ** 37n));
    expect(formatDecimal(-5n, 2)).toBe('-0.05');
  });

  it('boolean: 0x00 / 0x01', () => {
    expect(hex(toBinary('boolean', false))).toBe('00');
    expect(hex(toBinary('boolean', true))).toBe('01');
    expect(fromBinary('boolean', Uint8Array.of(7))).toBe(true);
  });

  it('uuid: 16 bytes big-endian', () => {
    expect(hex(toBinary('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'))).toBe('f79c3e09677c4bbda4793f349cb785e7');
  });

  it('normalizes friendly input forms', () => {
    expect(normalizeValue('date', '2017-11-16', 'x')).toBe(17486);
    expect(normalizeValue('timestamp', '2017-11-16T22:31:08', 'x')).toBe(1510871468000000n);
    expect(normalizeValue('decimal(9,2)', '14.2', 'x')).toBe(1420n);
    expect(normalizeValue('decimal(9,2)', 14.2, 'x')).toBe(1420n);
    expect(normalizeValue('long', '9223372036854775807', 'x')).toBe(9223372036854775807n);
    expect(() => normalizeValue('decimal(3,2)', '10.00', 'x')).toThrow(/not a valid/);
    expect(() => normalizeValue('int', 'a', 'x')).toThrow(/not a valid int/);
  });
});

describe('partition transforms', () => {
  it('bucket hashes match the spec’s test values (Appendix B)', () => {
    expect(bucketHash('int', 34)).toBe(2017239379);
    expect(bucketHash('long', 34n)).toBe(2017239379);
    expect(bucketHash('decimal(9,2)', 1420n)).toBe(-500754589);
    expect(bucketHash('date', 17486)).toBe(-653330422);
    expect(bucketHash('time', 81068000000n)).toBe(-662762989);
    expect(bucketHash('timestamp', 1510871468000000n)).toBe(-2047944441);
    expect(bucketHash('timestamp', 1510871468000001n)).toBe(-1207196810);
    expect(bucketHash('string', 'iceberg')).toBe(1210000089);
    expect(bucketHash('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7')).toBe(1488055340);
    expect(bucketHash('binary', Uint8Array.of(0, 1, 2, 3))).toBe(-188683207);
    expect(murmur3x86_32(new Uint8Array(0))).toBe(0);
  });

  it('applies each transform', () => {
    const ts = parseTimestampMicros('2017-11-16 22:31:08')!;
    expect(applyTransform(parseTransform('bucket[16]'), 'long', 34n)).toBe((2017239379 & 0x7fffffff) % 16);
    expect(applyTransform(parseTransform('truncate[10]'), 'int', -1)).toBe(-10);
    expect(applyTransform(parseTransform('truncate[10]'), 'long', 1n)).toBe(0n);
    expect(applyTransform(parseTransform('truncate[50]'), 'decimal(9,2)', 1065n)).toBe(1050n);
    expect(applyTransform(parseTransform('truncate[3]'), 'string', 'iceberg')).toBe('ice');
    expect(applyTransform(parseTransform('truncate[1]'), 'string', '😀x')).toBe('😀');
    expect(applyTransform(parseTransform('year'), 'timestamp', ts)).toBe(47);
    expect(applyTransform(parseTransform('month'), 'date', 17486)).toBe(47 * 12 + 10);
    expect(applyTransform(parseTransform('day'), 'timestamp', ts)).toBe(17486);
    expect(applyTransform(parseTransform('day'), 'timestamp', -1n)).toBe(-1);
    expect(applyTransform(parseTransform('hour'), 'timestamp', ts)).toBe(17486 * 24 + 22);
    expect(applyTransform(parseTransform('void'), 'string', 'x')).toBeNull();
    expect(applyTransform(parseTransform('identity'), 'string', null)).toBeNull();
  });

  it('knows result types and rejects transforms that do not apply', () => {
    expect(transformResultType(parseTransform('day'), 'timestamp')).toBe('date');
    expect(transformResultType(parseTransform('bucket[4]'), 'string')).toBe('int');
    expect(transformResultType(parseTransform('identity'), 'decimal(9,2)')).toBe('decimal(9,2)');
    expect(() => transformResultType(parseTransform('hour'), 'date')).toThrow(/does not apply/);
    expect(() => transformResultType(parseTransform('bucket[4]'), 'double')).toThrow(/does not apply/);
    expect(() => parseTransform('zorder')).toThrow(/unknown partition transform/);
  });
});

describe('partitionForRow', () => {
  it('computes partition values from a row, ready for DataFile.partition', () => {
    const schema = icebergSchemaFromColumns([
      { name: 'tid', type: 'string' },
      { name: 'at', type: 'timestamp' },
      { name: 'amount', type: 'decimal(9,2)' },
    ]);
    const spec = buildPartitionSpec(schema, [
      { sourceColumn: 'at', transform: 'day' },
      { sourceColumn: 'tid', transform: 'bucket[16]' },
      { sourceColumn: 'amount', transform: 'truncate[100]' },
    ]);
    expect(partitionForRow(schema, spec, { tid: 'iceberg', at: '2017-11-16 22:31:08', amount: '12.34' })).toEqual({
      at_day: 17486,
      tid_bucket_16: (1210000089 & 0x7fffffff) % 16,
      amount_trunc_100: '12.00',
    });
    expect(partitionForRow(schema, spec, { tid: null, at: null, amount: null })).toEqual({ at_day: null, tid_bucket_16: null, amount_trunc_100: null });
  });
});
