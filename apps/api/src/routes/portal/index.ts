// The web portal (apps/portal's Vite build) at /portal: static files with a strict Content-Security-Policy, and the
// few public settings the page needs to sign a person in. Nothing here is in the OpenAPI document: the portal is a
// client of the public API like any other and adds no privilege of its own.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Config } from '../../deps.js';
import { portalConfigRoute } from './config.js';

/** The portal's public OAuth client in the atoll realm (authorization code + PKCE). */
export const PORTAL_CLIENT_ID = 'atoll-portal';

const defaultPortalDir = fileURLToPath(new URL('../../../../portal/dist', import.meta.url));

/** Scripts and styles only from the api's own origin; the one other origin is Keycloak, for the token exchange. */
export function portalCsp(keycloakOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${keycloakOrigin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function portalRoutes(config: Config): FastifyPluginAsync {
  const root = config.ATOLL_PORTAL_DIR ?? defaultPortalDir;
  const keycloakUrl = (config.ATOLL_KEYCLOAK_PUBLIC_URL ?? config.ATOLL_KEYCLOAK_URL).replace(/\/+$/, '');
  const csp = portalCsp(new URL(keycloakUrl).origin);
  return async (app) => {
    app.addHook('onSend', async (request, reply) => {
      if (!request.url.startsWith('/portal')) return;
      void reply.header('content-security-policy', csp);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
      void reply.header('x-frame-options', 'DENY');
      void reply.header('cross-origin-opener-policy', 'same-origin');
    });
    await app.register(portalConfigRoute({ keycloakUrl, realm: config.ATOLL_REALM, clientId: PORTAL_CLIENT_ID, stepUpAcr: config.ATOLL_STEP_UP_ACR, stepUpMaxAgeSeconds: config.ATOLL_STEP_UP_MAX_AGE_SECONDS }));
    app.get('/portal', { schema: { hide: true } }, (_request, reply) => reply.redirect('/portal/', 301));
    if (!existsSync(root)) {
      app.log.warn({ op: 'portal.missing', root }, 'the portal is not built (npm run build -w @atoll/portal); /portal/ answers 503');
      app.get('/portal/*', { schema: { hide: true } }, (_request, reply) =>
        reply.status(503).type('text/plain; charset=utf-8').send('The Atoll portal is not built on this server: run `npm run build -w @atoll/portal`.\n'),
      );
      return;
    }
    await app.register(fastifyStatic, {
      root,
      prefix: '/portal/',
      index: ['index.html'],
      wildcard: true,
      schemaHide: true,
      // The build writes .br and .gz next to each script and stylesheet (apps/portal/build.mjs).
      preCompressed: true,
      // Vite names every asset by its content hash, so they never change under one name; index.html must revalidate.
      setHeaders: (reply, path) => {
        void reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  };
}
