// POST /v1/agreements/{id}/revoke { reason } (operator): its delegated licenses stop counting at the next read.
import type { FastifyPluginAsync } from 'fastify';
import type { Agreements } from '@atoll/licensing';
import type { ApiDeps } from '../../deps.js';
import { decisionRoute } from './decide.js';

export function revokeRoute(deps: ApiDeps, agreements: Agreements): FastifyPluginAsync {
  return decisionRoute(deps, agreements, 'revoke', 'Revoke an approved agreement with a reason: its delegated licenses stop counting (they stay in the log)');
}
