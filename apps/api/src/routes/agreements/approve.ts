// POST /v1/agreements/{id}/approve (operator): the agreement's delegated licenses count from now on.
import type { FastifyPluginAsync } from 'fastify';
import type { Agreements } from '@atoll/licensing';
import type { ApiDeps } from '../../deps.js';
import { decisionRoute } from './decide.js';

export function approveRoute(deps: ApiDeps, agreements: Agreements): FastifyPluginAsync {
  return decisionRoute(deps, agreements, 'approve', "Approve a provider's pending agreement: its delegated licenses start counting");
}
