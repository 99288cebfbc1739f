// Provider agreement routes (seed 001): providers submit and list, operators list, approve, reject and revoke.
import type { FastifyPluginAsync } from 'fastify';
import { Agreements } from '@atoll/licensing';
import type { ApiDeps } from '../../deps.js';
import { approveRoute } from './approve.js';
import { listRoute } from './list.js';
import { rejectRoute } from './reject.js';
import { revokeRoute } from './revoke.js';
import { submitRoute } from './submit.js';

export function agreementRoutes(deps: ApiDeps): FastifyPluginAsync {
  const agreements = new Agreements({ db: deps.pool });
  return async (app) => {
    await app.register(submitRoute(deps, agreements));
    await app.register(listRoute(deps, agreements));
    await app.register(approveRoute(deps, agreements));
    await app.register(rejectRoute(deps, agreements));
    await app.register(revokeRoute(deps, agreements));
  };
}
