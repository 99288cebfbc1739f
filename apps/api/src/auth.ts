// Bearer-token authentication as Fastify hooks: Keycloak client-credentials tokens with role checks, and Atoll-issued
// device tokens with scope checks and the device directory that makes a revoked device's live tokens fail at once.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AtollError } from '@atoll/errors';
import { assertSteppedUp, type ClientPrincipal, type DevicePrincipal, type DeviceScope, type Principal, type Role, type StepUpPolicy } from '@atoll/identity';
import type { ApiDeps } from './deps.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw new AtollError('UNAUTHENTICATED');
  const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!m) throw new AtollError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
  return m[1]!;
}

/** An onRequest hook that admits (before any body is read) only tokens carrying one of `roles`. */
export function requireRole(deps: Pick<ApiDeps, 'verifier'>, ...roles: Role[]): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const principal = await deps.verifier.verify(bearerToken(request));
    if (!roles.some((r) => principal.roles.includes(r))) {
      throw new AtollError('FORBIDDEN', `this operation needs the ${roles.join(' or ')} role`);
    }
    request.principal = principal;
  };
}

/**
 * An onRequest hook for payment settings, placed after `requireRole`: the caller must be a person who signed in with
 * password and one-time code (`acr` = `policy.acr`) no longer than `policy.maxAgeSeconds` ago; otherwise 403
 * STEP_UP_REQUIRED. The WWW-Authenticate challenge follows RFC 9470 so an OAuth client knows what to ask Keycloak for.
 */
export function requireStepUp(policy: StepUpPolicy): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.principal) throw new AtollError('UNAUTHENTICATED');
    try {
      assertSteppedUp(request.principal, policy);
    } catch (e) {
      void reply.header(
        'www-authenticate',
        `Bearer error="insufficient_user_authentication", error_description="step-up authentication required", acr_values="${policy.acr}", max_age=${policy.maxAgeSeconds}`,
      );
      throw e;
    }
  };
}

/** The api's step-up policy, from its configuration. */
export function stepUpPolicy(config: { ATOLL_STEP_UP_ACR: string; ATOLL_STEP_UP_MAX_AGE_SECONDS: number }): StepUpPolicy {
  return { acr: config.ATOLL_STEP_UP_ACR, maxAgeSeconds: config.ATOLL_STEP_UP_MAX_AGE_SECONDS };
}

/**
 * Verifies an Atoll device token: signature, issuer, audience, type, expiry, scope (without `scope`, any live device
 * token is accepted) — and that its device is not revoked. That last check reads the device directory: from memory
 * when the device was seen within the last second and no change notice came since (lookups.ts), so a revocation
 * bites on the next request in the revoking process, on other replicas when Postgres's notice arrives (milliseconds),
 * and within one second even if a notice were lost. Without Postgres it fails closed.
 */
export async function verifyDeviceToken(deps: Pick<ApiDeps, 'deviceTokens' | 'devices'>, token: string, scope?: DeviceScope): Promise<DevicePrincipal> {
  const { jti: _jti, exp: _exp, ...principal } = await deps.deviceTokens.verifyAccessToken(token);
  if (scope && !principal.scopes.includes(scope)) throw new AtollError('INSUFFICIENT_SCOPE', `this operation needs the ${scope} scope`);
  let device;
  try {
    device = await deps.devices.active(principal.deviceId);
  } catch (e) {
    throw new AtollError('DEPENDENCY_UNAVAILABLE', 'device registry', { cause: e });
  }
  if (!device) throw new AtollError('DEVICE_REVOKED');
  return principal;
}

/**
 * An onRequest hook for routes devices and backends share: an Atoll device token carrying `scope` (principal kind
 * `device`), or a Keycloak token carrying one of `roles` (kind `client`). The token's issuer picks the verifier.
 */
export function requireDeviceOrRole(
  deps: Pick<ApiDeps, 'verifier' | 'deviceTokens' | 'devices'>,
  opts: { scope: DeviceScope; roles: Role[] },
): onRequestAsyncHookHandler {
  const roleCheck = requireRole(deps, ...opts.roles);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request);
    if (deps.deviceTokens.isOwnToken(token)) {
      request.principal = await verifyDeviceToken(deps, token, opts.scope);
      return;
    }
    await roleCheck.call(request.server, request, reply);
  };
}

/** The client (Keycloak) principal of a request; devices are refused where only backends may act. */
export function principalOf(request: FastifyRequest): ClientPrincipal {
  const p = request.principal;
  if (!p) throw new AtollError('UNAUTHENTICATED');
  if (p.kind !== 'client') throw new AtollError('FORBIDDEN', 'a device token cannot be used here');
  return p;
}

/** Whoever the hook admitted: a backend client or a device. */
export function anyPrincipalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AtollError('UNAUTHENTICATED');
  return request.principal;
}

/** The provider a request acts for: the device's provider, or the calling provider's org. */
export function providerIdOf(principal: Principal): string {
  return principal.kind === 'device' ? principal.providerId : principal.orgId;
}
