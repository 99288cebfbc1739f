// bigint-safe JSON: ids above 2^53 survive a round trip; everything else behaves like JSON.parse/stringify.
import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from './json.js';

describe('bigint-safe JSON', () => {
  it('keeps 63-bit integers exact and small ones as numbers', () => {
    const text = '{"a": 9223372036854775807, "b": -9007199254740993, "c": 42, "d": 1.5e3, "e": [1, 12345678901234567890]}';
    const v = parseJson(text) as Record<string, unknown>;
    expect(v.a).toBe(9223372036854775807n);
    expect(v.b).toBe(-9007199254740993n);
    expect(v.c).toBe(42);
    expect(v.d).toBe(1500);
    expect((v.e as unknown[])[1]).toBe(12345678901234567890n);
    expect(stringifyJson(v)).toBe('{"a":9223372036854775807,"b":-9007199254740993,"c":42,"d":1500,"e":[1,12345678901234567890]}');
  });

  it('parses strings, escapes and nesting like JSON.parse', () => {
    const text = JSON.stringify({ s: 'q"uo\\te \u00e9 \ud83d\ude00 \n', n: null, t: true, f: false, o: { x: [] }, __proto__x: 1 });
    expect(parseJson(text)).toEqual(JSON.parse(text));
    expect(parseJson('"9223372036854775807"')).toBe('9223372036854775807');
    const proto = parseJson('{"__proto__": 1}') as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });

  it('rejects malformed input', () => {
    for (const bad of ['{', '{"a":}', '[1,]', '01', 'nul', '{"a":1}x', '"open']) expect(() => parseJson(bad)).toThrow(SyntaxError);
  });

  it('does not rewrite strings that look like the internal marker', () => {
    expect(stringifyJson({ s: 'bigint-123:5', n: 5n })).toBe('{"s":"bigint-123:5","n":5}');
  });
});
