// Builds the api in-process against the running stack (same config the stack's api process gets), for tests that
// exercise routes not yet deployed in the running api process. Use `app.inject()` or `app.listen({ port: 0 })`.
import type { FastifyInstance } from 'fastify';
import { ApiConfigSchema, loadConfig } from '@atoll/config';
import { createLogger } from '@atoll/log';
import { buildApp, createDeps, type ApiDeps } from '@atoll/api';

export interface InProcessApi extends AsyncDisposable {
  app: FastifyInstance;
  deps: ApiDeps;
  url: string;
}

export async function startInProcessApi(overrides: Record<string, string> = {}): Promise<InProcessApi> {
  const env = process.env as Record<string, string>;
  const config = loadConfig(ApiConfigSchema, {
    ...env,
    ATOLL_S3_ACCESS_KEY: env.ATOLL_S3_API_ACCESS_KEY,
    ATOLL_S3_SECRET_KEY: env.ATOLL_S3_API_SECRET_KEY,
    ATOLL_API_PORT: '0',
    ATOLL_WORK_DIR: '/tmp/atoll-test-api',
    ATOLL_LOG_LEVEL: 'warn',
    ...overrides,
  });
  const deps = createDeps(config);
  const app = await buildApp(config, deps, { logger: createLogger({ name: 'api-test', level: config.ATOLL_LOG_LEVEL }) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    deps,
    url: address,
    async [Symbol.asyncDispose]() {
      await app.close();
      await deps.close();
    },
  };
}
