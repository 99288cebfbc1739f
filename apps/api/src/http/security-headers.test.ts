import { describe, expect, it } from 'vitest';
import { securityHeaders } from './security-headers.js';

describe('securityHeaders', () => {
  it("is what helmet sets, read once: a deny-all content policy and helmet's usual protections", () => {
    const h = Object.fromEntries(securityHeaders());
    expect(h['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'");
    expect(h).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
      'cross-origin-resource-policy': 'same-origin',
      'cross-origin-opener-policy': 'same-origin',
    });
    expect(h['strict-transport-security']).toMatch(/^max-age=\d+/);
    expect(Object.keys(h).every((k) => k === k.toLowerCase())).toBe(true);
  });
});
