// Step-up authentication (seed 000: a further factor for infrequent, sensitive actions such as payment settings): a
// Keycloak token qualifies when its `acr` names the second-factor level and its `auth_time` is recent enough.
import { AtollError } from '@atoll/errors';
import type { Principal } from './keycloak.js';

export interface StepUpPolicy {
  /** The `acr` value of password + OTP in the realm's ACR-to-LoA mapping (Atoll's realm: "mfa", level 2). */
  acr: string;
  /** Longest time between the second factor (`auth_time`) and the request. */
  maxAgeSeconds: number;
}

/** Why `principal` does not meet `policy`, or null when it does. */
export function stepUpShortfall(principal: Principal, policy: StepUpPolicy, nowSeconds: number): string | null {
  if (principal.kind !== 'client') return 'a device token cannot change payment settings';
  const { acr, authTime } = principal.authentication;
  if (acr === undefined || authTime === undefined) {
    return 'the token was not issued to a person who signed in (a client-credentials token never is)';
  }
  if (acr !== policy.acr) return `the token's acr is "${acr}"`;
  const age = nowSeconds - authTime;
  // Keycloak and the api share a clock only roughly: a sign-in a few seconds "in the future" is still fresh.
  if (age > policy.maxAgeSeconds) return `the second factor was given ${age} s ago`;
  return null;
}

/** Throws STEP_UP_REQUIRED (403) naming what is needed, unless `principal` stepped up recently enough. */
export function assertSteppedUp(principal: Principal, policy: StepUpPolicy, nowSeconds = Math.floor(Date.now() / 1000)): void {
  const shortfall = stepUpShortfall(principal, policy, nowSeconds);
  if (shortfall === null) return;
  throw new AtollError(
    'STEP_UP_REQUIRED',
    `changing payment settings needs step-up authentication: a token with acr "${policy.acr}" (password and one-time code) ` +
      `from a sign-in at most ${policy.maxAgeSeconds} s old; ${shortfall}`,
    { details: { requiredAcr: policy.acr, maxAgeSeconds: policy.maxAgeSeconds } },
  );
}
