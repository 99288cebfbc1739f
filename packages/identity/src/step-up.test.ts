import { describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import type { ClientPrincipal, DevicePrincipal } from './keycloak.js';
import { assertSteppedUp } from './step-up.js';

const policy = { acr: 'mfa', maxAgeSeconds: 300 };
const now = 1_800_000_000;
const human = (authentication: ClientPrincipal['authentication']): ClientPrincipal => ({ kind: 'client', clientId: 'atoll-console', roles: ['operator'], orgId: 'operator', authentication });

function refusal(fn: () => void): AtollError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AtollError);
    return e as AtollError;
  }
  throw new Error('accepted');
}

describe('assertSteppedUp', () => {
  it('admits acr "mfa" with auth_time within the max age (and a little clock skew)', () => {
    expect(() => assertSteppedUp(human({ acr: 'mfa', authTime: now - 300 }), policy, now)).not.toThrow();
    expect(() => assertSteppedUp(human({ acr: 'mfa', authTime: now + 3 }), policy, now)).not.toThrow();
  });

  it('refuses service accounts, password-only and stale sign-ins with STEP_UP_REQUIRED naming the step-up', () => {
    for (const [authentication, why] of [
      [{}, /client-credentials/],
      [{ acr: 'password', authTime: now - 5 }, /acr is "password"/],
      [{ acr: 'mfa', authTime: now - 301 }, /given 301 s ago/],
    ] as const) {
      const e = refusal(() => assertSteppedUp(human(authentication), policy, now));
      expect(e.code).toBe('STEP_UP_REQUIRED');
      expect(e.status).toBe(403);
      expect(e.message).toMatch(/step-up authentication: a token with acr "mfa" .* at most 300 s old/);
      expect(e.message).toMatch(why);
      expect(e.details).toEqual({ requiredAcr: 'mfa', maxAgeSeconds: 300 });
    }
  });

  it('refuses device tokens', () => {
    const device: DevicePrincipal = { kind: 'device', deviceId: 'd', tid: 't', providerId: 'p', scopes: ['license'] };
    expect(refusal(() => assertSteppedUp(device, policy, now)).code).toBe('STEP_UP_REQUIRED');
  });
});
