// Consumer routes (SPEC §6), one per file; the rules live in @atoll/market, the sandboxed work in the cleanroom worker.
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { Lake } from '@atoll/lake';
import { Market } from '@atoll/market';
import { requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { workerCaller } from '../../worker-calls.js';
import { getApplicationRoute } from './application-get.js';
import { putApplicationRoute } from './application-put.js';
import { createCleanroomRoute } from './cleanroom-create.js';
import { listCleanroomsRoute } from './cleanroom-list.js';
import { rotateCleanroomKeyRoute } from './cleanroom-rotate.js';
import { datasetsRoute } from './datasets.js';
import { estimateRoute } from './estimate.js';
import { createSubscriptionRoute } from './subscription-create.js';
import { getSubscriptionRoute } from './subscription-get.js';
import { listSubscriptionsRoute } from './subscription-list.js';
import { pauseSubscriptionRoute } from './subscription-pause.js';
import { resumeSubscriptionRoute } from './subscription-resume.js';
import { runSubscriptionRoute } from './subscription-run.js';

/** The most SQL an estimate accepts at the HTTP layer; the worker's gate applies its own configured limit. */
const MAX_QUERY_LENGTH = 100_000;

export function consumerRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  const market = new Market({
    db: deps.pool,
    producer: deps.producer,
    lake: new Lake(deps.store, deps.pool, join(config.ATOLL_WORK_DIR, 'lake-cache')),
    call: workerCaller(deps.producer, config.ATOLL_WORKER_CALL_TIMEOUT_MS),
  });
  return async (app) => {
    app.addHook('onRequest', requireRole(deps, 'consumer'));
    await app.register(getApplicationRoute(deps));
    await app.register(putApplicationRoute(deps));
    await app.register(createCleanroomRoute(config, market));
    await app.register(rotateCleanroomKeyRoute(config, market));
    await app.register(listCleanroomsRoute(config, market));
    await app.register(datasetsRoute(market));
    await app.register(estimateRoute(market, MAX_QUERY_LENGTH));
    await app.register(createSubscriptionRoute(market));
    await app.register(getSubscriptionRoute(market));
    await app.register(listSubscriptionsRoute(market));
    await app.register(pauseSubscriptionRoute(market));
    await app.register(resumeSubscriptionRoute(market));
    await app.register(runSubscriptionRoute(market));
  };
}
