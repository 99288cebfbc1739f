// Discovery for device clients and verifiers: the JWKS of Atoll's token keys and the OAuth metadata (RFC 8414).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { deviceScopes } from '@atoll/identity';
import type { ApiDeps, Config } from '../../deps.js';
import { JWT_BEARER, tokenEndpoint } from './token.js';

const Jwk = Type.Object({ kty: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String(), crv: Type.Optional(Type.String()), x: Type.Optional(Type.String()), y: Type.Optional(Type.String()) });

export function wellKnownRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/.well-known/jwks.json',
      { schema: { tags: ['devices'], summary: 'Public keys of Atoll-issued tokens and attestations (current and recently retired)', security: [], response: { 200: Type.Object({ keys: Type.Array(Jwk) }) } } },
      async (_request, reply) => {
        void reply.header('cache-control', 'public, max-age=60');
        return (await deps.deviceTokens.jwks()) as { keys: Array<{ kty: string; kid: string; alg: string; use: string }> };
      },
    );
    app.get(
      '/.well-known/oauth-authorization-server',
      {
        schema: {
          tags: ['devices'],
          summary: 'OAuth authorization server metadata (RFC 8414): issuer, token endpoint (the assertion audience), JWKS',
          security: [],
          response: {
            200: Type.Object({
              issuer: Type.String(),
              token_endpoint: Type.String(),
              jwks_uri: Type.String(),
              grant_types_supported: Type.Array(Type.String()),
              token_endpoint_auth_methods_supported: Type.Array(Type.String()),
              scopes_supported: Type.Array(Type.String()),
            }),
          },
        },
      },
      async () => ({
        issuer: config.ATOLL_API_URL,
        token_endpoint: tokenEndpoint(config),
        jwks_uri: `${config.ATOLL_API_URL}/.well-known/jwks.json`,
        grant_types_supported: [JWT_BEARER],
        token_endpoint_auth_methods_supported: ['none'],
        scopes_supported: [...deviceScopes],
      }),
    );
  };
}
