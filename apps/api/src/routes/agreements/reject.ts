// POST /v1/agreements/{id}/reject { reason } (operator): the provider sees the reason and may submit again.
import type { FastifyPluginAsync } from 'fastify';
import type { Agreements } from '@atoll/licensing';
import type { ApiDeps } from '../../deps.js';
import { decisionRoute } from './decide.js';

export function rejectRoute(deps: ApiDeps, agreements: Agreements): FastifyPluginAsync {
  return decisionRoute(deps, agreements, 'reject', "Reject a provider's pending agreement with a reason");
}
