import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AtollError, errorCatalog, toErrorResponse } from './index.js';

describe('error catalog', () => {
  it('every code is SNAKE_CASE with a 4xx/5xx status', () => {
    for (const [code, entry] of Object.entries(errorCatalog)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
    }
  });

  it('every code the SPEC documents exists with the documented status', () => {
    const spec = readFileSync(new URL('../../../../shared/SPEC.md', import.meta.url), 'utf8');
    const documented = [...spec.matchAll(/`(\d{3}) ([A-Z][A-Z_]+)`/g)].map((m) => ({ status: Number(m[1]), code: m[2] }));
    expect(documented.length).toBeGreaterThan(0);
    for (const { status, code } of documented) {
      expect(errorCatalog).toHaveProperty(code!);
      expect(errorCatalog[code as keyof typeof errorCatalog].status).toBe(status);
    }
  });

  it('maps catalog errors to the SPEC body and hides unknown errors behind a correlation id', () => {
    const known = toErrorResponse(new AtollError('LICENSE_REQUIRED'), 'req-1');
    expect(known.status).toBe(403);
    expect(known.body).toEqual({ error: { code: 'LICENSE_REQUIRED', message: 'no live license covers this data' } });
    const unknown = toErrorResponse(new Error('db password is hunter2'), 'req-2');
    expect(unknown.status).toBe(500);
    expect(JSON.stringify(unknown.body)).not.toContain('hunter2');
    expect(unknown.body.error.details).toEqual({ correlationId: 'req-2' });
  });
});
