// GET /portal/config.json: where the portal signs a person in. Only public values (a public client has no secret).
import type { FastifyPluginAsync } from 'fastify';

export interface PortalSettings {
  keycloakUrl: string;
  realm: string;
  clientId: string;
  stepUpAcr: string;
  stepUpMaxAgeSeconds: number;
}

export function portalConfigRoute(settings: PortalSettings): FastifyPluginAsync {
  const body = JSON.stringify(settings);
  return async (app) => {
    app.get('/portal/config.json', { schema: { hide: true } }, (_request, reply) => reply.header('cache-control', 'no-cache').type('application/json').send(body));
  };
}
