// Liveness, readiness (every dependency reachable) and Prometheus metrics.
import type { FastifyPluginAsync } from 'fastify';
import { storageDegradations } from '@atoll/storage';
import type { ApiDeps, Config } from '../deps.js';
import type { ApiMetrics } from '../metrics.js';

async function check(name: string, fn: () => Promise<unknown>): Promise<[string, { ok: boolean; error?: string }]> {
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 3000))]);
    return [name, { ok: true }];
  } catch (e) {
    return [name, { ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : 'failed' }];
  }
}

export function healthRoutes(config: Config, deps: ApiDeps, metrics: ApiMetrics): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const results = Object.fromEntries(
        await Promise.all([
          check('postgres', () => deps.pool.query('SELECT 1')),
          check('redis', () => deps.redis.ping()),
          check('minio', () => deps.store.listObjects(config.ATOLL_BUCKET_STAGING, '__readyz__')),
          check('keycloak', () => deps.clientAdmin.ping()),
        ]),
      );
      const ok = Object.values(results).every((r) => r.ok);
      // Which S3 server this is and what it lacks (docs/storage.md): a degraded capability is stated, not hidden.
      const storage = { server: config.ATOLL_STORAGE, degraded: storageDegradations(config.ATOLL_STORAGE) };
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks: results, storage });
    });
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  };
}
