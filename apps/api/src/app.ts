// The api's Fastify app factory: plugins, error handling, OpenAPI, and every route group. No listening here.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { registerErrorHandling } from '@atoll/errors';
import type { Logger } from '@atoll/log';
import type { ApiDeps, Config } from './deps.js';
import { createMetrics } from './metrics.js';
import { healthRoutes } from './routes/health.js';
import { operatorRoutes } from './routes/operator/index.js';
import { providerRoutes } from './routes/provider/index.js';
import { consumerRoutes } from './routes/consumer/index.js';
import { icebergRoutes } from './routes/iceberg/index.js';
import { NAMESPACE_PARAM_MAX } from './routes/iceberg/schemas.js';
import { deviceRoutes } from './routes/devices/index.js';
import { oauthRoutes } from './routes/oauth/index.js';
import { licenseRoutes } from './routes/licenses/index.js';
import { erasuresRoute } from './routes/licenses/erasures.js';
import { licenseSummaryRoute } from './routes/licenses/summary.js';
import { agreementRoutes } from './routes/agreements/index.js';
import { logRoutes } from './routes/log/index.js';
import { uploadRoute } from './uploads/route.js';
import { billingRoutes } from './routes/billing/index.js';
import { frameworkErrors } from './http/framework-errors.js';
import { registerNoNul } from './http/no-nul.js';
import { registerRateLimits } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { requestTimeoutResponder, serverTimeouts } from './http/timeouts.js';
import { portalRoutes } from './routes/portal/index.js';
import { listSchemasRoute } from './routes/schemas/list.js';

export async function buildApp(config: Config, deps: ApiDeps, opts: { logger: Logger }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    // Every route's default; uploads, the token form and the Stripe webhook set their own (each ≤ what it needs).
    bodyLimit: config.ATOLL_MAX_BODY_BYTES,
    // Slow clients (slowloris): a whole request must arrive in time, else 408 REQUEST_TIMEOUT and the socket closes.
    requestTimeout: config.ATOLL_REQUEST_TIMEOUT_MS,
    http: serverTimeouts(config.ATOLL_REQUEST_TIMEOUT_MS),
    clientErrorHandler: requestTimeoutResponder,
    frameworkErrors,
    trustProxy: false,
    requestIdHeader: 'x-request-id',
    // Fastify's default (100) is shorter than a name the catalog accepts (128 per level, 8 levels): a namespace made
    // with a 101-character level could be created and listed but never addressed, and engines listing the lake failed.
    routerOptions: { maxParamLength: NAMESPACE_PARAM_MAX },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  registerErrorHandling(app);
  registerSecurityHeaders(app);
  // Before any route is added: the plugin hooks every route as it is registered.
  await registerRateLimits(app, config, deps.redis);
  registerNoNul(app);
  const metrics = createMetrics();
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.labels(request.method, request.routeOptions.url ?? 'unmatched', String(reply.statusCode)).observe(reply.elapsedTime / 1000);
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Atoll API', version: '0.1.0', description: 'Self-hostable lakehouse for licensed consumer data.' },
      servers: [{ url: config.ATOLL_API_URL }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  // The docs pages run swagger-ui's scripts: its own policy (hashes of its inline code) replaces the api's 'none'.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, transformStaticCSP: (h) => h.replace(/\s*upgrade-insecure-requests;?/, '') });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(healthRoutes(config, deps, metrics));
  await app.register(operatorRoutes(deps, config));
  await app.register(providerRoutes(config, deps, metrics));
  await app.register(consumerRoutes(config, deps));
  await app.register(icebergRoutes(config, deps));
  await app.register(deviceRoutes(config, deps));
  await app.register(oauthRoutes(config, deps));
  await app.register(licenseRoutes(config, deps));
  await app.register(erasuresRoute(deps));
  await app.register(licenseSummaryRoute(deps));
  await app.register(agreementRoutes(deps));
  await app.register(logRoutes(config, deps));
  await app.register(uploadRoute(config, deps, metrics));
  await app.register(billingRoutes(config, deps));
  await app.register(listSchemasRoute(deps));
  await app.register(portalRoutes(config));
  return app;
}
