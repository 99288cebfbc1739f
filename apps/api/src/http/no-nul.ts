// PostgreSQL text cannot hold U+0000, so a NUL anywhere in a path parameter, query value or JSON body would reach the
// database and fail there as a 500. One check before validation refuses it as the caller's error instead.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AtollError } from '@atoll/errors';

/** The path of the first string (or object key) holding U+0000, or null; walks arrays and plain objects only
 * (prototype Object or none: parsers may build either), never streams or buffers. */
export function findNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '/' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i], `${path}/${i}`);
      if (hit !== null) return hit;
    }
    return null;
  }
  if (value !== null && typeof value === 'object' && isPlain(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return `${path}/${k.replaceAll('\u0000', '\\u0000')}`;
      const hit = findNul(v, `${path}/${k}`);
      if (hit !== null) return hit;
    }
  }
  return null;
}

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function registerNoNul(app: FastifyInstance): void {
  // A plain hook, not an async one: it never waits, and an async hook costs every request a promise and its microtasks.
  app.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    done(nulError('params', request.params) ?? nulError('querystring', request.query) ?? nulError('body', request.body) ?? undefined);
  });
}

function nulError(part: string, value: unknown): AtollError | null {
  const at = findNul(value);
  return at === null ? null : new AtollError('VALIDATION_FAILED', `${part}${at === '/' ? '' : ` at ${at}`} contains U+0000, which is not allowed in text`);
}
