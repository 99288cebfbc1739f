import { describe, expect, it } from 'vitest';
import { describeReadError, headerProblem, parseCsvHeader } from './strict-read.js';

const columns = [
  { name: 'user_id', type: 'string' as const, role: 'user_id' as const },
  { name: 'qty', type: 'long' as const },
];

describe('strict reading', () => {
  it('parses quoted CSV headers and names what is missing, unknown or doubled', () => {
    expect(parseCsvHeader('\uFEFF"user_id","q""ty",x')).toEqual(['user_id', 'q"ty', 'x']);
    expect(headerProblem(['qty', 'user_id'], columns)).toBeNull();
    expect(headerProblem(['user_id'], columns)).toBe('line 1: missing column qty');
    expect(headerProblem(['user_id', 'qty', 'extra'], columns)).toBe('line 1: unknown column "extra"');
    expect(headerProblem(['user_id', 'qty', 'qty'], columns)).toBe('line 1: column qty appears twice');
  });

  it('turns DuckDB reader errors into a line, a column and a cause without the value or local paths', () => {
    const conversion = 'Conversion Error: CSV Error on Line: 3\nOriginal Line: u2,abc\nError when converting column "qty". Could not convert string "abc" to \'BIGINT\'\n\nColumn qty is being converted';
    expect(describeReadError(conversion)).toBe("line 3, column qty: Could not convert a value to 'BIGINT'");
    const quote = 'Invalid Input Error: CSV Error on Line: 7\nOriginal Line: "secret\n\nValue with unterminated quote found.\n';
    expect(describeReadError(quote)).toBe('line 7: Value with unterminated quote found.');
    expect(describeReadError("Invalid Input Error: No magic bytes found at end of file '/tmp/work/x/staged'")).toBe('Invalid Input Error: No magic bytes found at end of file the file');
  });
});
