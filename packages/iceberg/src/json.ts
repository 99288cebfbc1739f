// JSON that keeps 64-bit integers exact: snapshot ids are random 63-bit longs, far beyond Number.MAX_SAFE_INTEGER.
//
// Hand-written because Node 20 lacks JSON.parse source-text access (the reviver only sees the rounded double), and
// the whole need is "integers that do not fit a double become bigint" — not worth a dependency.

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

class JsonSyntaxError extends SyntaxError {}

/** Parses JSON; integer literals outside the safe range become `bigint`, everything else is as JSON.parse. */
export function parseJson(text: string): JsonValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at position ${pos}`);
  };
  const skipWs = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const numberRe = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const parseValue = (): JsonValue => {
    skipWs();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: { [key: string]: JsonValue } = {};
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[pos] !== '"') fail('expected string key');
        const key = parseString();
        skipWs();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        // defineProperty so a "__proto__" key is stored as data, like JSON.parse does
        Object.defineProperty(obj, key, { value: parseValue(), enumerable: true, writable: true, configurable: true });
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue());
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    numberRe.lastIndex = pos;
    const m = numberRe.exec(text);
    if (!m) return fail('unexpected token');
    pos += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  };
  const parseString = (): string => {
    // Find the closing quote, then let JSON.parse decode escapes exactly as the platform does.
    const start = pos;
    pos++;
    while (pos < text.length) {
      const ch = text.charCodeAt(pos);
      if (ch === 0x5c) pos += 2;
      else if (ch === 0x22) break;
      else pos++;
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const value = parseValue();
  skipWs();
  if (pos !== text.length) fail('unexpected trailing characters');
  return value;
}

/** Serializes like JSON.stringify, writing `bigint` as a bare integer literal. */
export function stringifyJson(value: unknown, indent?: number): string {
  // A per-call random marker cannot collide with real string content.
  const marker = `\u0000bigint-${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v.toString()}` : v), indent);
  if (text === undefined) throw new TypeError('value is not JSON-serializable');
  const quotedMarker = JSON.stringify(marker).slice(1, -1);
  return text.replace(new RegExp(`"${quotedMarker.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(-?\\d+)"`, 'g'), '$1');
}
