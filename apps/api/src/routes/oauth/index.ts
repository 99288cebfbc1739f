// OAuth routes for devices: the token endpoint and the discovery documents.
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps, Config } from '../../deps.js';
import { tokenRoute } from './token.js';
import { wellKnownRoutes } from './wellknown.js';

export function oauthRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(tokenRoute(config, deps));
    await app.register(wellKnownRoutes(config, deps));
  };
}
