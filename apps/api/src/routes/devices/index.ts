// Device routes (SPEC §4–§5): attestations, registration, revocation, and the provider's TID lookup.
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps, Config } from '../../deps.js';
import { attestationRoute } from './attestation.js';
import { registerRoute } from './register.js';
import { revokeRoute } from './revoke.js';
import { tidsRoute } from './tids.js';

export function deviceRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(attestationRoute(deps));
    await app.register(registerRoute(config, deps));
    await app.register(revokeRoute(deps));
    await app.register(tidsRoute(config, deps));
  };
}
