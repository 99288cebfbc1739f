// Bearer-token authentication (Keycloak client-credentials tokens) and role checks, as Fastify hooks.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AtollError } from '@atoll/errors';
import type { Principal, Role } from '@atoll/identity';
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

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AtollError('UNAUTHENTICATED');
  return request.principal;
}
